/* cli.h - the sub-commands of the wharf executable. Each returns the exit
 * status: 0 success, 1 runtime failure, 2 bad usage or configuration. */
#ifndef WHARF_CLI_H
#define WHARF_CLI_H

int wharf_cmd_run(int argc, char **argv);
int wharf_cmd_check(int argc, char **argv);
int wharf_cmd_buffer(int argc, char **argv);
/* health.c: exit 0 when GET /health answers 200, else 1 (HEALTHCHECK). */
int wharf_cmd_health(int argc, char **argv);
/* parsers.c: argv starts after the command name. */
int wharf_cmd_parsers(int argc, char **argv);
int wharf_cmd_parse(int argc, char **argv);
/* archive.c: argv starts after the command name. */
int wharf_cmd_archive(int argc, char **argv);
/* Loads the config named by -c/--config in argv; prints errors and returns
 * NULL on failure. */
struct wharf_config *wharf_cli_load_config(int argc, char **argv, const char *cmd);
void wharf_cli_help(const char *topic);

#endif
