// sd_notify READY=1 for systemd's Type=notify (fact sheet §10): sent once subnet.env is written and
// the backend runs; a failure is only logged, as in the reference. Node cannot send on a Unix datagram
// socket, so the message goes through systemd's own `systemd-notify`, which exists wherever
// NOTIFY_SOCKET is set by systemd; the unit must say NotifyAccess=all because the datagram comes from
// that helper's PID (MAINPID names ours).
import type { Logger } from '../common/log.js';
import type { CommandRunner } from './traffic/exec.js';
import { execRunner } from './traffic/exec.js';

/**
 * Sends READY=1 when NOTIFY_SOCKET is set; resolves true when sent, false when not asked for or when
 * it failed (logged). Never throws. Calling it twice sends twice (systemd ignores the second).
 */
export async function notifyReady(env: NodeJS.ProcessEnv, logger: Logger, runner: CommandRunner = execRunner): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return false;
  try {
    // --no-block: no barrier round trip, which a plain listener (or an old systemd) cannot answer.
    await runner.run('systemd-notify', ['--no-block', `--pid=${process.pid}`, 'READY=1']);
    logger.debug('sent READY=1 to the service manager', { v: 2 });
    return true;
  } catch (e) {
    logger.error(`failed to notify the service manager (READY=1 to ${env.NOTIFY_SOCKET}): ${(e as Error).message}`);
    return false;
  }
}
