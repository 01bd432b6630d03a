#include "common/net/transport.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>
#include <zmq.hpp>

#include "common/proto/envelope.hpp"

using namespace crescent;
using namespace std::chrono_literals;

namespace {
net::LinkOptions FastOptions() {
  net::LinkOptions o;
  o.heartbeat_interval_s = 0.1;
  o.heartbeat_timeout_s = 0.5;
  o.max_payload_bytes = 4096;
  return o;
}

// Receives until a non-heartbeat message arrives or `limit` passes.
std::optional<net::Incoming> ReceiveWithin(net::MasterSocket& m, std::chrono::milliseconds limit) {
  return m.Receive(limit);
}
}  // namespace

TEST_CASE("a worker's hello and requests reach the master and back", "[net]") {
  net::MasterSocket master("127.0.0.1", 0, FastOptions());
  REQUIRE(master.endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
  net::WorkerLink worker(master.endpoint(), proto::Hello{"rollout", 3, "h", 42}, FastOptions());
  auto in = ReceiveWithin(master, 5s);
  REQUIRE(in);
  CHECK(in->peer == "rank-3");
  CHECK(std::get<proto::Hello>(in->message).pid == 42);
  master.Send("rank-3", proto::Shutdown{"bye"});
  auto got = worker.Receive(5s);
  REQUIRE(got);
  CHECK(std::get<proto::Shutdown>(*got).reason == "bye");
}

TEST_CASE("garbage, truncated, wrong-version and oversized frames are dropped", "[net]") {
  net::MasterSocket master("127.0.0.1", 0, FastOptions());
  zmq::context_t context;
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::routing_id, "rank-9");
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(master.endpoint());

  std::string good = proto::Encode(proto::Hello{"reward", 9, "h", 1});
  std::string wrong_version = good;
  wrong_version[4] = 7;
  std::string unknown_type = good;
  unknown_type[6] = 77;
  std::vector<std::string> bad = {"garbage", good.substr(0, good.size() - 2), wrong_version,
                                  unknown_type, std::string(3000, 'x')};
  for (const auto& frame : bad) raw.send(zmq::buffer(frame), zmq::send_flags::none);
  // Two frames in one message.
  raw.send(zmq::buffer(good), zmq::send_flags::sndmore);
  raw.send(zmq::buffer(good), zmq::send_flags::none);
  // Oversized at the transport: zmq drops the connection, so send it last on its own socket.
  raw.send(zmq::buffer(good), zmq::send_flags::none);

  auto in = ReceiveWithin(master, 5s);
  REQUIRE(in);
  CHECK(std::get<proto::Hello>(in->message).rank == 9);
  CHECK(master.dropped_frames() == bad.size() + 1);

  zmq::socket_t big(context, zmq::socket_type::dealer);
  big.set(zmq::sockopt::linger, 0);
  big.connect(master.endpoint());
  big.send(zmq::buffer(std::string(8192, 'y')), zmq::send_flags::none);
  raw.send(zmq::buffer(good), zmq::send_flags::none);
  in = ReceiveWithin(master, 5s);
  REQUIRE(in);  // the master still serves other peers
  CHECK(std::get<proto::Hello>(in->message).rank == 9);
}

TEST_CASE("heartbeats flow both ways and silence is measured", "[net]") {
  net::MasterSocket master("127.0.0.1", 0, FastOptions());
  auto worker = std::make_unique<net::WorkerLink>(
      master.endpoint(), proto::Hello{"trainer", 1, "h", 5}, FastOptions());
  REQUIRE(ReceiveWithin(master, 5s));
  auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    master.HeartbeatPeers({"rank-1"});
    master.Receive(50ms);
  }
  CHECK(master.SilenceSeconds("rank-1") < 0.5);
  CHECK(worker->MasterAlive());
  worker.reset();  // the worker goes away: silence grows
  std::this_thread::sleep_for(700ms);
  master.Receive(10ms);
  CHECK(master.SilenceSeconds("rank-1") > 0.5);
}

TEST_CASE("a worker notices a silent master", "[net]") {
  auto master = std::make_unique<net::MasterSocket>("127.0.0.1", 0, FastOptions());
  net::WorkerLink worker(master->endpoint(), proto::Hello{"trainer", 1, "h", 5}, FastOptions());
  std::this_thread::sleep_for(200ms);
  master.reset();
  std::this_thread::sleep_for(800ms);
  CHECK_FALSE(worker.MasterAlive());
}

TEST_CASE("an interface without IPv4 is named in the error", "[net]") {
  CHECK(net::InterfaceAddress("lo") == "127.0.0.1");
  CHECK_THROWS_WITH(net::InterfaceAddress("nosuch0"),
                    Catch::Contains("cluster.interface: interface \"nosuch0\""));
}
