// pillarbox: the server and its administrative command line (server/cli.h).
#include "server/cli.h"

int main(int argc, char** argv) { return pillarbox::server::RunCli(argc, argv); }
