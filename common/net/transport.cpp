#include "common/net/transport.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <zmq.hpp>

#include "common/proto/envelope.hpp"
#include "common/util/log.hpp"

namespace crescent::net {
namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void ConfigureSocket(zmq::socket_t& socket, const LinkOptions& options) {
  socket.set(zmq::sockopt::linger, 2000);
  socket.set(zmq::sockopt::maxmsgsize,
             static_cast<int64_t>(options.max_payload_bytes + proto::kHeaderSize));
}

}  // namespace

std::string PeerName(int rank) { return "rank-" + std::to_string(rank); }

std::string HostName() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

std::string InterfaceAddress(const std::string& interface) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) throw std::runtime_error("getifaddrs failed");
  std::string found, names;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    names += std::string(names.empty() ? "" : ", ") + a->ifa_name;
    bool up = (a->ifa_flags & IFF_UP) != 0;
    bool loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
    if (interface == "auto" ? (up && !loopback) : interface == a->ifa_name) {
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
      found = text;
      break;
    }
  }
  freeifaddrs(list);
  if (!found.empty()) return found;
  if (interface == "auto") return "127.0.0.1";
  throw std::runtime_error(StrCat("cluster.interface: interface \"", interface, "\" on host ",
                                  HostName(), " has no IPv4 address (interfaces with one: ", names,
                                  ")"));
}

// ---- master -----------------------------------------------------------------

struct MasterSocket::Impl {
  LinkOptions options;
  zmq::context_t context{1};
  zmq::socket_t router{context, zmq::socket_type::router};
  std::string endpoint;
  struct Peer {
    Clock::time_point last_heard;
    Clock::time_point last_sent;
    uint64_t sequence = 0;
  };
  std::map<std::string, Peer> peers;
  uint64_t dropped = 0;
};

MasterSocket::MasterSocket(const std::string& address, int port, const LinkOptions& options)
    : impl_(new Impl) {
  impl_->options = options;
  ConfigureSocket(impl_->router, options);
  const std::string bind =
      StrCat("tcp://", address, ":", port == 0 ? std::string("*") : std::to_string(port));
  try {
    impl_->router.bind(bind);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(
        StrCat("master cannot bind ", bind, " on host ", HostName(), ": ", e.what()));
  }
  impl_->endpoint = impl_->router.get(zmq::sockopt::last_endpoint);
}

MasterSocket::~MasterSocket() = default;

const std::string& MasterSocket::endpoint() const { return impl_->endpoint; }

void MasterSocket::Send(const std::string& peer, const proto::Message& message) {
  const std::string frame = proto::Encode(message);
  impl_->router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
  impl_->router.send(zmq::buffer(frame), zmq::send_flags::none);
  impl_->peers[peer].last_sent = Clock::now();
}

std::optional<Incoming> MasterSocket::Receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    zmq::pollitem_t item{impl_->router.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    std::vector<zmq::message_t> parts;
    while (true) {
      zmq::message_t part;
      if (!impl_->router.recv(part, zmq::recv_flags::dontwait)) break;
      bool more = part.more();
      parts.push_back(std::move(part));
      if (!more) break;
    }
    if (parts.empty()) continue;
    const std::string peer = parts[0].to_string();
    if (parts.size() != 2) {
      ++impl_->dropped;
      LogWarn("dropped a message of ", parts.size(), " parts from peer \"", peer,
              "\": expected one frame");
      continue;
    }
    proto::Decoded decoded =
        proto::Decode(parts[1].data(), parts[1].size(), impl_->options.max_payload_bytes);
    if (!decoded.message) {
      ++impl_->dropped;
      LogWarn("dropped a frame from peer \"", peer, "\": ", decoded.error);
      continue;
    }
    impl_->peers[peer].last_heard = Clock::now();
    if (std::holds_alternative<proto::Heartbeat>(*decoded.message)) continue;
    return Incoming{peer, std::move(*decoded.message)};
  }
}

double MasterSocket::SilenceSeconds(const std::string& peer) const {
  auto it = impl_->peers.find(peer);
  if (it == impl_->peers.end()) return 1e300;
  return SecondsSince(it->second.last_heard);
}

void MasterSocket::HeartbeatPeers(const std::vector<std::string>& peers) {
  for (const auto& name : peers) {
    Impl::Peer& peer = impl_->peers[name];
    if (SecondsSince(peer.last_sent) < impl_->options.heartbeat_interval_s) continue;
    Send(name, proto::Heartbeat{++peer.sequence});
  }
}

uint64_t MasterSocket::dropped_frames() const { return impl_->dropped; }

// ---- worker -----------------------------------------------------------------

struct WorkerLink::Impl {
  LinkOptions options;
  zmq::context_t context{1};
  zmq::socket_t outbox{context, zmq::socket_type::pair};  // main thread's end
  std::thread io;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> master_heard_ns{0};
  std::atomic<int64_t> io_turn_ns{0};  // when the I/O loop last turned (0: not yet)

  std::mutex mutex;
  std::condition_variable ready;
  std::deque<proto::Message> inbox;  // GUARDED_BY(mutex)

  void Serve(zmq::socket_t dealer, zmq::socket_t relay, std::string hello);
};

namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
}  // namespace

WorkerLink::WorkerLink(const std::string& endpoint, const proto::Hello& hello,
                       const LinkOptions& options)
    : impl_(new Impl) {
  impl_->options = options;
  const std::string inproc = StrCat("inproc://worker-link-", reinterpret_cast<uintptr_t>(this));
  impl_->outbox.bind(inproc);
  zmq::socket_t relay(impl_->context, zmq::socket_type::pair);
  relay.connect(inproc);
  zmq::socket_t dealer(impl_->context, zmq::socket_type::dealer);
  ConfigureSocket(dealer, options);
  dealer.set(zmq::sockopt::routing_id, PeerName(hello.rank));
  dealer.connect(endpoint);
  impl_->master_heard_ns = NowNs();
  impl_->io = std::thread(&Impl::Serve, impl_.get(), std::move(dealer), std::move(relay),
                          proto::Encode(hello));
}

WorkerLink::~WorkerLink() {
  impl_->stop = true;
  impl_->outbox.send(zmq::buffer(std::string()), zmq::send_flags::none);
  impl_->io.join();
}

void WorkerLink::Impl::Serve(zmq::socket_t dealer, zmq::socket_t relay, std::string hello) {
  dealer.send(zmq::buffer(hello), zmq::send_flags::none);
  const auto interval = Millis(options.heartbeat_interval_s);
  auto next_beat = Clock::now() + interval;
  auto last_turn = Clock::now();
  uint64_t sequence = 0;
  while (true) {
    // This loop turns at least once an interval. A longer gap means this
    // process was stopped (SIGSTOP, a debugger, swapping): the master's
    // silence since then is ours, not its.
    const double gap = SecondsSince(last_turn);
    if (gap > 2 * options.heartbeat_interval_s + 1) {
      LogWarn("this worker was paused for ", gap, " s");
      master_heard_ns = NowNs();
    }
    last_turn = Clock::now();
    io_turn_ns = NowNs();
    zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0},
                               {relay.handle(), 0, ZMQ_POLLIN, 0}};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - Clock::now());
    zmq::poll(items, 2, std::max(wait, std::chrono::milliseconds(0)));
    if (items[1].revents & ZMQ_POLLIN) {
      zmq::message_t frame;
      while (relay.recv(frame, zmq::recv_flags::dontwait)) {
        if (frame.size() == 0) return;  // shutdown signal; linger flushes what was sent
        dealer.send(frame, zmq::send_flags::none);
      }
    }
    if (items[0].revents & ZMQ_POLLIN) {
      zmq::message_t frame;
      while (dealer.recv(frame, zmq::recv_flags::dontwait)) {
        proto::Decoded decoded =
            proto::Decode(frame.data(), frame.size(), options.max_payload_bytes);
        if (!decoded.message) {
          LogWarn("dropped a frame from the master: ", decoded.error);
          continue;
        }
        master_heard_ns = NowNs();
        if (std::holds_alternative<proto::Heartbeat>(*decoded.message)) continue;
        {
          std::lock_guard<std::mutex> lock(mutex);
          inbox.push_back(std::move(*decoded.message));
        }
        ready.notify_one();
      }
    }
    if (Clock::now() >= next_beat) {
      dealer.send(zmq::buffer(proto::Encode(proto::Heartbeat{++sequence})), zmq::send_flags::none);
      next_beat = Clock::now() + interval;
      if (stop) return;
    }
  }
}

void WorkerLink::Send(const proto::Message& message) {
  impl_->outbox.send(zmq::buffer(proto::Encode(message)), zmq::send_flags::none);
}

std::optional<proto::Message> WorkerLink::Receive(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  if (!impl_->ready.wait_for(lock, timeout, [this] { return !impl_->inbox.empty(); })) {
    return std::nullopt;
  }
  proto::Message message = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return message;
}

bool WorkerLink::MasterAlive() const {
  // The I/O thread has not turned since a pause of this process: it has yet
  // to see the pause (and forgive the master's silence during it).
  const int64_t turned = impl_->io_turn_ns.load();
  const double io_idle = (NowNs() - turned) / 1e9;
  if (turned != 0 && io_idle > 2 * impl_->options.heartbeat_interval_s + 1) return true;
  double silent = (NowNs() - impl_->master_heard_ns.load()) / 1e9;
  return silent < impl_->options.heartbeat_timeout_s;
}

}  // namespace crescent::net
