#ifndef CP_UNIT_H
#define CP_UNIT_H

#include <stdbool.h>

/*
 * unit - crashpipe's systemd units switched on and off: `crashpipe install --follow` and
 * `crashpipe uninstall --follow` (crashpipe-follow.service, systemd/ in the source).
 */

#define CP_FOLLOW_UNIT "crashpipe-follow.service"

/* Enable and start (@enable) or stop and disable the follow unit with systemctl(1); with
 * @dry_run print the command only. When systemd is not PID 1 (no /run/systemd/system, as
 * sd_booted(3) checks) nothing is run: say so and what to run instead, and return 1.
 * Returns 0, 1, or systemctl's exit status. */
int cp_unit_follow(bool enable, bool dry_run);

#endif
