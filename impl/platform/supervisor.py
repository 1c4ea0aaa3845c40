"""uvicorn's multi-worker supervisor, letting go of the listening socket as soon as it is told to stop.

uvicorn's parent process binds the socket, hands it to the workers and keeps its own copy until every worker has
exited. On SIGTERM the workers close theirs at once, but the parent's copy keeps the socket listening for the whole
grace period: the kernel goes on accepting connections that no process will ever read, and resets them when the
parent finally exits (a reset POST is ambiguous to its client). Closing the parent's copy first means the socket
closes with the workers' listeners, as with one worker: a new connection is then refused at once (a load balancer
retries it elsewhere), while the workers finish what they had already accepted.
"""

from __future__ import annotations

from uvicorn.supervisors import Multiprocess


class ReleasingMultiprocess(Multiprocess):
    def terminate_all(self) -> None:
        # Called once the supervisor is exiting (SIGTERM, SIGINT): before the workers are told to stop.
        for sock in self.sockets:
            sock.close()
        super().terminate_all()
