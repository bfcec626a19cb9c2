#include "app/cli.h"

int main(int argc, char** argv) { return aegis::app::main_cli(argc, argv); }
