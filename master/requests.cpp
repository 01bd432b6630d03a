#include "master/requests.hpp"

#include <stdexcept>

#include "common/util/log.hpp"

namespace crescent::master {

RequestTracker::RequestTracker(std::chrono::duration<double> timeout) : timeout_(timeout) {}

uint64_t RequestTracker::Sent(const std::string& peer, proto::Message& request,
                              Clock::time_point now) {
  const std::optional<size_t> reply_index = proto::ReplyIndexOf(request);
  if (!reply_index) {
    throw std::logic_error(StrCat(proto::MessageName(request), " is not a request"));
  }
  const uint64_t id = next_id_++;
  proto::SetRequestId(request, id);
  Request& r = requests_[id];
  r.id = id;
  r.peer = peer;
  r.name = proto::MessageName(request);
  r.reply_index = *reply_index;
  r.sent = now;
  r.deadline = now + std::chrono::duration_cast<Clock::duration>(timeout_);
  return id;
}

std::string RequestTracker::Received(const std::string& peer, proto::Message reply,
                                     Clock::time_point now) {
  const uint64_t id = proto::RequestIdOf(reply);
  auto it = requests_.find(id);
  if (it == requests_.end()) return StrCat("no request ", id, " is awaited");
  Request& r = it->second;
  if (r.peer != peer) return StrCat("request ", id, " went to another worker");
  if (r.reply) return StrCat("request ", id, " is answered already");
  if (reply.index() != r.reply_index && !std::holds_alternative<proto::ErrorReply>(reply))
    return StrCat("request ", id, " is a ", r.name);
  r.seconds = std::chrono::duration<double>(now - r.sent).count();
  r.reply = std::move(reply);
  return "";
}

bool RequestTracker::Answered(uint64_t id) const {
  auto it = requests_.find(id);
  return it != requests_.end() && it->second.reply.has_value();
}

RequestTracker::Request RequestTracker::Take(uint64_t id) {
  auto it = requests_.find(id);
  if (it == requests_.end() || !it->second.reply)
    throw std::logic_error(StrCat("request ", id, " has no reply to take"));
  Request r = std::move(it->second);
  requests_.erase(it);
  return r;
}

std::vector<RequestTracker::Request> RequestTracker::Overdue(Clock::time_point now) const {
  std::vector<Request> out;
  for (const auto& [id, r] : requests_)
    if (!r.reply && r.deadline < now) out.push_back(r);
  return out;
}

size_t RequestTracker::outstanding() const {
  size_t n = 0;
  for (const auto& [id, r] : requests_) n += !r.reply;
  return n;
}

}  // namespace crescent::master
