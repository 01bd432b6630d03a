// ZeroMQ transport between the master (one ROUTER socket) and the workers
// (one DEALER socket each), carrying envelope.hpp frames. Heartbeats flow both
// ways on their own: a worker's heartbeats come from a background I/O thread,
// so a worker busy generating or training still answers, and a stopped or
// frozen one falls silent.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config/net_options.hpp"
#include "common/proto/messages.hpp"

namespace crescent::net {

using Clock = std::chrono::steady_clock;

// LinkOptions: common/config/net_options.hpp (the cluster section embeds them).

// The IPv4 address to advertise: of `interface` ("eth0"), or with "auto" the
// first non-loopback interface that is up, else 127.0.0.1. Throws naming the
// interface when it has no IPv4 address.
std::string InterfaceAddress(const std::string& interface);
std::string HostName();

// A message received by the master, with the sender's identity.
struct Incoming {
  std::string peer;  // the sender's routing id ("rank-3")
  proto::Message message;
};

// What the master needs of its connection to the workers (MasterSocket over
// ZeroMQ; an in-process fake in the master's tests).
class MasterTransport {
 public:
  virtual ~MasterTransport() = default;
  // The endpoint workers connect to.
  virtual const std::string& endpoint() const = 0;
  virtual void Send(const std::string& peer, const proto::Message& message) = 0;
  // Waits up to `timeout` for a message (heartbeats are handled underneath).
  virtual std::optional<Incoming> Receive(std::chrono::milliseconds timeout) = 0;
  // Seconds since `peer` was last heard from (any message counts).
  virtual double SilenceSeconds(const std::string& peer) const = 0;
  // Sends a heartbeat to each peer in `peers` whose interval is due.
  virtual void HeartbeatPeers(const std::vector<std::string>& peers) = 0;
};

// The master's socket. Not thread-safe: one thread owns it.
class MasterSocket : public MasterTransport {
 public:
  // Binds tcp://address:port (port 0: chosen by the OS).
  MasterSocket(const std::string& address, int port, const LinkOptions& options);
  ~MasterSocket();
  MasterSocket(const MasterSocket&) = delete;
  MasterSocket& operator=(const MasterSocket&) = delete;

  // The endpoint workers connect to, e.g. "tcp://10.77.0.11:41234".
  const std::string& endpoint() const override;

  void Send(const std::string& peer, const proto::Message& message) override;
  // Waits up to `timeout` for a message. Heartbeats are answered and counted,
  // never returned; bad frames are logged and dropped.
  std::optional<Incoming> Receive(std::chrono::milliseconds timeout) override;

  double SilenceSeconds(const std::string& peer) const override;
  void HeartbeatPeers(const std::vector<std::string>& peers) override;
  // Frames dropped so far, for tests and diagnostics.
  uint64_t dropped_frames() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A worker's connection to the master, served by a background I/O thread.
class WorkerLink {
 public:
  // Connects to `endpoint` as routing id "rank-<rank>" and sends `hello`.
  WorkerLink(const std::string& endpoint, const proto::Hello& hello, const LinkOptions& options);
  ~WorkerLink();
  WorkerLink(const WorkerLink&) = delete;
  WorkerLink& operator=(const WorkerLink&) = delete;

  void Send(const proto::Message& message);
  // Waits up to `timeout` for a message from the master (heartbeats excluded).
  std::optional<proto::Message> Receive(std::chrono::milliseconds timeout);
  // False once the master has been silent for longer than heartbeat_timeout_s.
  bool MasterAlive() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string PeerName(int rank);

}  // namespace crescent::net
