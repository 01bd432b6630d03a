// How a worker rank serves its role. A role's whole contract is a class with
// one method per request it serves, deriving from Service
// (rollout/rollout_service.hpp, reward/reward_service.hpp,
// trainer/trainer_service.hpp); Serve() runs it over the job's connection to
// the master.
#pragma once

#include <exception>
#include <optional>

#include "common/net/job.hpp"
#include "common/proto/messages.hpp"

namespace crescent::net {

class Service {
 public:
  virtual ~Service() = default;
  // The reply to `request`, or nothing when this role does not serve its
  // type. An exception thrown while serving a request costs that request
  // only: it comes back in the reply's error field.
  virtual std::optional<proto::Message> Answer(const proto::Message& request) = 0;
};

// Serves requests until the master sends Shutdown; returns the exit code (0
// on Shutdown, 3 when the master fell silent). Every request gets one reply
// carrying its request id: the service's, or an ErrorReply naming this rank's
// role, rank and host for a request it does not serve. A stop signal (below)
// does not end a worker: the master decides when it ends.
int Serve(const JobContext& job, Service& service);

// The reply of the first method whose request type `request` holds:
//   return Route(*this, request, &RolloutService::Generate, ...);
// Each method takes a request type R and returns R::Reply; the reply gets the
// request's id, and an exception becomes its error.
template <class S, class... Methods>
std::optional<proto::Message> Route(S& service, const proto::Message& request, Methods... methods);

// ---- implementation ---------------------------------------------------------

namespace internal {
template <class S, class Request, class Reply>
bool RouteTo(S& service, const proto::Message& message, Reply (S::*method)(const Request&),
             std::optional<proto::Message>& out) {
  static_assert(std::is_same_v<Reply, typename Request::Reply>,
                "a service method returns its request's reply type");
  const Request* request = std::get_if<Request>(&message);
  if (!request) return false;
  Reply reply;
  try {
    reply = (service.*method)(*request);
  } catch (const std::exception& e) {
    reply = Reply{};
    reply.error = e.what();
  }
  reply.request_id = request->request_id;
  out = std::move(reply);
  return true;
}
}  // namespace internal

template <class S, class... Methods>
std::optional<proto::Message> Route(S& service, const proto::Message& request, Methods... methods) {
  std::optional<proto::Message> out;
  (internal::RouteTo(service, request, methods, out) || ...);
  return out;
}

}  // namespace crescent::net
