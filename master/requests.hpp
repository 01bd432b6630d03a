// The master's requests under way, keyed by request id: the peer each went
// to, the reply type it calls for, and its deadline. Replies are matched by
// id, never by peer or type alone. Time is passed in, so tests drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/messages.hpp"

namespace crescent::master {

class RequestTracker {
 public:
  using Clock = std::chrono::steady_clock;

  struct Request {
    uint64_t id = 0;
    std::string peer;
    std::string name;  // the request's message name
    size_t reply_index = 0;
    Clock::time_point sent, deadline;
    std::optional<proto::Message> reply;
    double seconds = 0;  // from sending to the reply
  };

  // `timeout`: how long a request may wait for its reply (cluster.request_timeout_s).
  explicit RequestTracker(std::chrono::duration<double> timeout);

  // Gives `request` (a request type) the next request id and records it as
  // sent to `peer` at `now`; returns the id.
  uint64_t Sent(const std::string& peer, proto::Message& request, Clock::time_point now);

  // Files a reply from `peer`. Returns why it is not awaited ("" when filed):
  // no request has its id, the request went to another peer, it is answered
  // already, or the reply is of another type than the request calls for (an
  // ErrorReply answers any request).
  std::string Received(const std::string& peer, proto::Message reply, Clock::time_point now);

  bool Answered(uint64_t id) const;
  // The answered request `id`, with its reply; it is forgotten.
  Request Take(uint64_t id);
  // Unanswered requests whose deadline is before `now`, oldest first.
  std::vector<Request> Overdue(Clock::time_point now) const;
  size_t outstanding() const;

 private:
  std::chrono::duration<double> timeout_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Request> requests_;
};

}  // namespace crescent::master
