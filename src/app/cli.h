// The `aegis-flow` command line: run, validate, version, quickstart, certs, carbon.
#pragma once

namespace aegis::app {

int main_cli(int argc, char** argv);

}  // namespace aegis::app
