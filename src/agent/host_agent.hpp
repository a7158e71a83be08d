#pragma once
// The host agent (`bench-node --agent`): started by bench-master once per host over one
// SSH session, it starts that host's node processes when the master asks and carries
// their standard streams in frames (agent_frames.hpp). So a run costs one session, one
// remote shell and a few pipes per host, not per node process.

namespace bm::agent {

// Serves the master on in_fd / out_fd until its input has ended and every node started
// has ended. Returns 0, or 2 when the input was not frames (every node is stopped then,
// as when the input ends). On SIGTERM, SIGHUP or SIGINT every node is asked to stop
// (SIGTERM, then SIGCONT) and the agent exits once they have ended. It reads those
// signals and SIGCHLD from a signalfd: in a process with other threads (a test), they
// must be blocked there too. The nodes start with no signal blocked.
int run_host_agent(int in_fd, int out_fd);

}  // namespace bm::agent
