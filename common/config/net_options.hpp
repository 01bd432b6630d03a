// The transport's options (common/net/transport.hpp), here so that the
// config's cluster section can embed them without including upward: the
// defaults below are the documented defaults of the cluster.* keys.
#pragma once

#include <cstddef>

namespace crescent::net {

struct LinkOptions {
  // cluster.heartbeat_interval_s: seconds between heartbeats, sent both ways.
  double heartbeat_interval_s = 1.0;
  // cluster.heartbeat_timeout_s: silence after which a peer counts as gone.
  double heartbeat_timeout_s = 10.0;
  // cluster.max_message_mb (in MiB there): the largest payload accepted.
  size_t max_payload_bytes = size_t{64} << 20;
};

}  // namespace crescent::net
