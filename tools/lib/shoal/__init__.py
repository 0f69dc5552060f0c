"""shoal — host-side control of Shoal clusters under QEMU.

The launcher (tools/cluster) and the QEMU integration tests (tests/qemu/)
share this package:

  shoal.config   ClusterConfig: what `tools/cluster up` was asked for, its
                 validation and the --icount syntax (pure, unit-tested)
  shoal.qemu     the QEMU command line of a node, the per-node grub.cfg, the
                 MAC addresses (pure functions of the config, unit-tested)
  shoal.cluster  Cluster: a cluster directory's files, starting, waiting for,
                 killing and stopping nodes by the PIDs it recorded
  shoal.console  Console: one node's serial console (run, wait_for), the
                 failure patterns, and LogWatch for following log files

Every error meant for a user is a ShoalError (or a subclass) whose message
is the whole explanation; the command-line tool prints it and exits.
"""


class ShoalError(Exception):
    """An error to show a user as is (no traceback)."""


class NodeDown(ShoalError):
    """The node is not running (never started, killed or exited)."""


class BootFailure(ShoalError):
    """One or more nodes did not reach their ready line."""
