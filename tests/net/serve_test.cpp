// A worker rank serving its role over a real ZeroMQ connection: replies carry
// the request's id, a failed request comes back with its error, and a request
// the role does not serve comes back as an ErrorReply naming role, rank, host.
#include "common/net/serve.hpp"

#include <catch2/catch.hpp>
#include <future>

#include "reward/reward_service.hpp"

using namespace crescent;
using namespace std::chrono_literals;

namespace {

class EchoReward : public reward::RewardService {
 public:
  proto::ScoreResult Score(const proto::ScoreRequest& request) override {
    proto::ScoreResult result;
    for (const auto& item : request.items) {
      if (item.response == "boom") throw std::runtime_error("plug-in set broken: boom");
      result.scores.push_back({item.trajectory_id, 1.0, true, ""});
    }
    return result;
  }
};

// The next message from rank 1 other than its hello.
net::Incoming Next(net::MasterSocket& master) {
  for (int i = 0; i < 50; ++i) {
    if (auto in = master.Receive(200ms)) {
      if (!std::holds_alternative<proto::Hello>(in->message)) return *in;
    }
  }
  FAIL("no reply from the worker");
  return {};
}

}  // namespace

TEST_CASE("Serve: replies carry the request id, errors name the request or the role", "[net]") {
  net::MasterSocket master("127.0.0.1", 0, net::LinkOptions{});
  net::JobContext job;
  job.rank = 1;
  job.roles = {config::Role::kMaster, config::Role::kReward};
  job.hosts = {"node1", "node2"};
  job.master_endpoint = master.endpoint();
  EchoReward service;
  auto served = std::async(std::launch::async, [&] { return net::Serve(job, service); });

  // The worker's hello makes it known; then requests.
  std::optional<net::Incoming> hello;
  for (int i = 0; i < 50 && !hello; ++i) hello = master.Receive(200ms);
  REQUIRE(hello);
  REQUIRE(std::holds_alternative<proto::Hello>(hello->message));

  master.Send("rank-1", proto::ScoreRequest{5, {{11, {"p", "1+1=", {}}, "2"}}});
  net::Incoming in = Next(master);
  REQUIRE(std::holds_alternative<proto::ScoreResult>(in.message));
  CHECK(std::get<proto::ScoreResult>(in.message).request_id == 5);
  CHECK(std::get<proto::ScoreResult>(in.message).error.empty());
  CHECK(std::get<proto::ScoreResult>(in.message).scores.size() == 1);

  // The method threw: that request fails, the worker goes on.
  master.Send("rank-1", proto::ScoreRequest{6, {{12, {"p", "1+1=", {}}, "boom"}}});
  in = Next(master);
  REQUIRE(std::holds_alternative<proto::ScoreResult>(in.message));
  CHECK(std::get<proto::ScoreResult>(in.message).request_id == 6);
  CHECK(std::get<proto::ScoreResult>(in.message).error == "plug-in set broken: boom");

  // Not this role's request.
  master.Send("rank-1", proto::GenerateRequest{7, {}});
  in = Next(master);
  REQUIRE(std::holds_alternative<proto::ErrorReply>(in.message));
  CHECK(std::get<proto::ErrorReply>(in.message).request_id == 7);
  CHECK(std::get<proto::ErrorReply>(in.message).error ==
        "reward service rank 1 on host node2 does not serve GenerateRequest");

  master.Send("rank-1", proto::Shutdown{"done"});
  REQUIRE(served.wait_for(10s) == std::future_status::ready);
  CHECK(served.get() == 0);
}
