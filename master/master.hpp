// The master: owns the job's clock and the run directory, hands work to the
// worker roles and watches their heartbeats. Made of parts, each with its
// own header: the scheduling rules (scheduling.hpp, group_assembly.hpp), the
// workers' membership and liveness (cluster.hpp), requests tracked by id
// with deadlines (requests.hpp, workers.hpp), durable progress (progress.hpp),
// evaluation (evaluation.hpp) and metrics (metrics.hpp).
#pragma once

#include "common/env/env.hpp"
#include "common/net/job.hpp"
#include "common/net/transport.hpp"
#include "master/prompt_encoder.hpp"
#include "master/prompt_feed.hpp"
#include "replay/buffer.hpp"

namespace crescent::master {

// Runs the RL loop of job.config over its collaborators: the Env (files,
// clock, sleeping), the transport to the workers, the prompt feed and the
// encoder of its prompts, and the opened replay buffer. Returns the exit
// code; throws naming the worker or key at fault when the job cannot go on.
int RunRl(const net::JobContext& job, env::Env* env, net::MasterTransport& transport,
          PromptFeed& feed, PromptEncoder& prompts, replay::ReplayBuffer& buffer);

// The master rank of a job: writes RUN_DIR/master.endpoint, opens the
// replay buffer, the task's prompt feed and the initial policy's tokenizer,
// then RunRl.
int RunMaster(const net::JobContext& job, net::MasterSocket& socket);

}  // namespace crescent::master
