// The `pillarbox` command line: serve (the default), init, user, deliver,
// check-config, version, journal, views, healthcheck, backup, restore,
// verify.
//
// Every subcommand takes --config FILE and --verbose; without --config the
// embedded defaults (plus PILLARBOX_* environment overrides) apply, so the
// CLI finds the same data directory as a server started the same way.
// Administrative commands open the store directly (LMDB is multi-process
// safe) but never create one: only `serve` and `init` do, so a command run
// from the wrong directory fails naming the directory it looked at. A
// running server picks their commits up through Store::PollExternalChanges.
//
// Thread: the main thread; completions run on it through a ManualExecutor.
#pragma once

namespace pillarbox::server {

// Exit statuses follow sysexits.h where they apply (deliver, config errors
// exit 2). Writes diagnostics to stderr as "pillarbox: ...".
int RunCli(int argc, char** argv);

}  // namespace pillarbox::server
