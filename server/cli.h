// The `pillarbox` command line: serve (the default), user, deliver,
// check-config, version, journal, views, healthcheck.
//
// Every subcommand takes --config FILE; without it the embedded defaults
// (plus PILLARBOX_* environment overrides) apply, so the CLI finds the same
// data directory as a server started the same way. Administrative commands
// open the store directly (LMDB is multi-process safe); a running server
// picks their commits up through Store::PollExternalChanges.
//
// Thread: the main thread; completions run on it through a ManualExecutor.
#pragma once

namespace pillarbox::server {

// Exit statuses follow sysexits.h where they apply (deliver, config errors
// exit 2). Writes diagnostics to stderr as "pillarbox: ...".
int RunCli(int argc, char** argv);

}  // namespace pillarbox::server
