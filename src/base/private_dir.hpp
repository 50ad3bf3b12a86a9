// Owner-only state on disk: the umask callbridged and the CLI set at start, and the data directory
// made (or tightened to) 0700 with its files 0600. Called from both mains and wherever a data dir
// is created (App::create, CLI commands); main thread, before any store opens its files.
#pragma once

#include <string>
#include <vector>

#include "base/error.hpp"

namespace callbridge::base {

// umask(077): every file and directory the process creates afterwards (SQLite databases and their
// -wal/-shm, recordings, exports) is owner-only whatever the caller's umask was.
void restrict_umask();

struct PrivateDirReport {
  std::vector<std::string> tightened;  // paths that had group/other bits (older install, or by hand)
  std::vector<std::string> failed;     // "path: reason" for entries below the dir it could not change
};

// Creates `dir` (and missing parents) as 0700, or tightens an existing one: the directory and every
// directory below it lose group/other bits (-> at most 0700), every regular file below it loses them
// too (-> at most 0600). Symlinks below it are neither followed nor changed. An error only when the
// dir itself cannot be made or restricted; entries below it that cannot be changed (owned by someone
// else) are reported, so the caller can log them and go on.
Result<PrivateDirReport> make_private_dir(const std::string& dir);

}  // namespace callbridge::base
