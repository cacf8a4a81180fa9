#include "cmd/cli.hpp"

int main(int argc, char** argv) { return meshinject::cmd::run(argc, argv); }
