// The systemd service manager protocol (sd_notify(3)): READY=1, RELOADING=1, STOPPING=1, STATUS=
// and WATCHDOG=1 as datagrams to $NOTIFY_SOCKET, and the watchdog interval from WATCHDOG_USEC.
// Spoken directly (a few lines over an AF_UNIX datagram socket, the protocol systemd documents as
// stable for reimplementation) instead of linking libsystemd. Called by callbridged's App on the io
// thread; the functions hold no state and are safe from any thread. Outside systemd they do nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace callbridge::base {

// Sends `state` ("READY=1\nSTATUS=listening on ...") to $NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace). false when the variable is unset, the address is invalid or the send fails:
// the daemon runs on either way, the service manager then judges it by its own timeouts.
bool notify_service_manager(std::string_view state);

// How often systemd expects WATCHDOG=1 (WatchdogSec=): WATCHDOG_USEC, when WATCHDOG_PID is unset
// or names this process. nullopt: no watchdog.
std::optional<std::chrono::microseconds> service_watchdog_interval();

// Stderr is the journal's stream ($JOURNAL_STREAM names stderr's device:inode, as systemd sets it
// for StandardError=journal): then logs carry no timestamps of their own and a <N> priority prefix.
bool stderr_is_journal();

}  // namespace callbridge::base
