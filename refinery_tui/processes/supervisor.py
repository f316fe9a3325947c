"""The keeper of one warm process and everything it starts: `python -S -I supervisor.py PID_FD COMMAND...`.

It becomes a child subreaper, starts COMMAND as its child and writes that child's pid to the descriptor PID_FD.
Whatever COMMAND starts stays below it, even a process that calls `setsid` and whose parent exits (it is adopted
here, not by init). When COMMAND ends (by itself, killed, crashed), or when this keeper's own parent is gone,
everything left below is killed and reaped, and the keeper ends the way COMMAND did (same exit code or signal).
Standard library only; it imports `process_tree.py` from its own folder, nothing else from the package.
"""

import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import process_tree  # noqa: E402 - from this folder, by path: this script runs without the package installed

WATCH_S = 0.5


def main() -> None:
    pid_fd = int(sys.argv[1])
    command = sys.argv[2:]
    process_tree.become_subreaper()
    parent = os.getppid()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    child = os.fork()
    if child == 0:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        os.close(pid_fd)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(2, f"cannot start {command[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    os.write(pid_fd, str(child).encode())
    os.close(pid_fd)
    os.closerange(3, 1 << 16)  # the request and reply pipes belong to the child: EOF must mean it is gone
    status = None
    while status is None and os.getppid() == parent:
        signal.sigtimedwait([signal.SIGCHLD], WATCH_S)
        status = _reap(child)
    process_tree.kill_tree(os.getpid(), include_root=False)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    if status is None:
        os._exit(1)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the child's crash, told again: no second core file
        signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {number})
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _reap(child: int) -> int | None:
    """Reap every child that ended (adopted ones too); the wait status of `child` once it ended."""
    status = None
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == child:
            status = code


if __name__ == "__main__":
    main()
