// The explicit table of subcommands.
#include "cli/commands.hpp"

#include <vector>

namespace callbridge::cli {

Command register_number(CLI::App& app);  // cmd_number.cpp
Command register_journal(CLI::App& app);  // cmd_journal.cpp
Command register_contacts(CLI::App& app);  // cmd_contacts.cpp
Command register_dial(CLI::App& app), register_calls(CLI::App& app), register_hangup(CLI::App& app),
    register_pickup(CLI::App& app), register_url_handler(CLI::App& app);  // cmd_dial.cpp
Command register_replay(CLI::App& app);  // cmd_replay.cpp
Command register_token(CLI::App& app);  // cmd_token.cpp
Command register_audit(CLI::App& app);  // cmd_audit.cpp
Command register_pair(CLI::App& app);  // cmd_pair.cpp
Command register_tenant(CLI::App& app);  // cmd_tenant.cpp
Command register_webhook(CLI::App& app);  // cmd_webhook.cpp
Command register_devices(CLI::App& app);  // cmd_devices.cpp
Command register_queue(CLI::App& app);  // cmd_queue.cpp
Command register_status(CLI::App& app);  // cmd_status.cpp
Command register_dnd(CLI::App& app);       // cmd_forward.cpp
Command register_forward(CLI::App& app);   // cmd_forward.cpp
Command register_followme(CLI::App& app);  // cmd_forward.cpp
Command register_device(CLI::App& app);  // cmd_device.cpp
Command register_explain(CLI::App& app);  // cmd_explain.cpp
Command register_park(CLI::App& app), register_parked(CLI::App& app), register_unpark(CLI::App& app),
    register_move(CLI::App& app);  // cmd_park.cpp
Command register_csta(CLI::App& app);  // cmd_csta.cpp

std::vector<Command> register_all(CLI::App& app) {
  std::vector<Command> out;
  out.push_back(register_number(app));
  out.push_back(register_journal(app));
  out.push_back(register_contacts(app));
  for (auto* r : {register_dial, register_calls, register_hangup, register_pickup, register_url_handler}) out.push_back(r(app));
  out.push_back(register_replay(app));
  out.push_back(register_token(app));
  out.push_back(register_audit(app));
  out.push_back(register_pair(app));
  out.push_back(register_tenant(app));
  out.push_back(register_webhook(app));
  out.push_back(register_devices(app));
  out.push_back(register_queue(app));
  out.push_back(register_status(app));
  out.push_back(register_dnd(app));
  out.push_back(register_forward(app));
  out.push_back(register_followme(app));
  out.push_back(register_device(app));
  out.push_back(register_explain(app));
  for (auto* r : {register_park, register_parked, register_unpark, register_move}) out.push_back(r(app));
  out.push_back(register_csta(app));
  return out;
}

}  // namespace callbridge::cli
