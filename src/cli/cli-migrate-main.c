/* resumego-migrate: the body of `resumego migrate`, a program of its own so that the
 * renderer CLI does not load libpq (see src/cli/meson.build). */
#include "cli.h"
#include "rg/log.h"

int main(int argc, char **argv)
{
    rg_log_setup("resumego", RG_LOG_WARN, 1);
    return cli_migrate_main(argc, argv);
}
