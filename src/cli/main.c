/* main.c - wharf's command line: dispatch to sub-commands and help. */
#include "cli.h"
#include "wharf/common.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: wharf <command> [options]\n"
    "\n"
    "Tails container logs (Docker json-file, CRI/Kubernetes), normalizes them to the\n"
    "Elastic Common Schema and ships them.\n"
    "\n"
    "commands:\n"
    "  run -c FILE [--oneshot]   ship logs as configured in FILE\n"
    "  check -c FILE             validate FILE; print FILE:LINE: errors, exit 2 if invalid\n"
    "  buffer stat -c FILE       show the disk buffer: segments, size, output lag\n"
    "  health -c FILE            ask the running wharf's GET /health; exit 0 when healthy\n"
    "  parsers test [--strict] PATH...  run the samples of parser files\n"
    "  parsers coverage -p PATH FILE   how many of FILE's lines the parsers match\n"
    "  parse -p PATH             parse lines from stdin, print ECS events\n"
    "  archive verify PATH       check a retention archive's hashes, chain, signatures\n"
    "  archive cat PATH          print an archive's events (--from, --to, --where)\n"
    "  version                   print the version\n"
    "  help [COMMAND]            show help for COMMAND\n";

static const char run_help[] =
    "usage: wharf run -c FILE [--oneshot] [--log-level LEVEL]\n"
    "\n"
    "Runs the inputs and outputs configured in FILE in the foreground.\n"
    "\n"
    "  -c, --config FILE   configuration file (YAML)\n"
    "  --oneshot           read every input to its current end, deliver what the\n"
    "                      outputs take and exit: 0 when they took everything, 1\n"
    "                      when some events wait in the buffer (batch use, tests)\n"
    "  --log-level LEVEL   debug, info (default), warn or error; logs go to stderr\n"
    "\n"
    "Without --oneshot wharf runs until SIGTERM or SIGINT, then stops reading,\n"
    "gives the outputs shutdown_timeout (default 10 s) to take the rest, saves\n"
    "their cursors and exits 0. What was read is kept in the disk buffer under\n"
    "data_dir until every output has it. SIGHUP reloads the configuration: a\n"
    "valid one is applied (unchanged inputs and outputs keep running), an\n"
    "invalid one is logged and the running one stays; file outputs reopen.\n";

static const char buffer_help[] =
    "usage: wharf buffer stat -c FILE [--json] [--records]\n"
    "\n"
    "Shows the disk buffer under FILE's data_dir, whether wharf is running or not:\n"
    "its segments and their sizes, the total size, the compression ratio, and per\n"
    "output its cursor (segment, offset, next event) and how far behind it is in\n"
    "events and bytes. Read-only: it never changes the buffer.\n"
    "\n"
    "  --json      one JSON object instead of tables\n"
    "  --records   also list every record (offset, type, size, events)\n";

static const char parsers_help[] =
    "usage: wharf parsers test [--strict] PATH...\n"
    "       wharf parsers coverage -p PATH [--parser NAME] [--field k=v]... [--timezone Z] FILE\n"
    "       wharf parse -p PATH [--parser NAME] [--field k=v]... [--timezone Z] [--trace]\n"
    "\n"
    "PATH is a parser file or a directory of them (*.yaml, *.yml); -p may repeat.\n"
    "\n"
    "  parsers test       runs every sample of every parser through all the parsers\n"
    "                     loaded; prints each failing field as FILE:LINE and a\n"
    "                     summary 'N passed, N failed'; names each rule no sample\n"
    "                     matches; exit 1 when a sample failed (--strict: or a\n"
    "                     rule has no sample), 2 when a file does not load\n"
    "  parsers coverage   reads FILE's lines as messages (with the --field fields\n"
    "                     set, e.g. --field process.name=sshd) and reports the share\n"
    "                     matched, per rule, and the first unmatched lines\n"
    "  parse              reads lines on stdin, prints one ECS event per line\n"
    "\n"
    "--parser NAME (parse, coverage): that parser alone, whatever its when, is the\n"
    "first round; the parsers a rewritten message routes to still run after it.\n"
    "--timezone Z (parse, coverage): times without an offset that no parser's\n"
    "timezone names are read in Z (as pipeline.parser_timezone), not in UTC.\n"
    "--trace (parse): on stderr, for each line, the parsers each round tries and\n"
    "every rule each one tries, with its file:line and how it ended; when no\n"
    "parser's when matches, the fields the when conditions read and the line's\n"
    "values of them.\n";

static const char health_help[] =
    "usage: wharf health -c FILE\n"
    "\n"
    "Asks the wharf running with FILE for GET /health on its api.listen address\n"
    "(a wildcard address is asked on loopback) and prints the JSON answer.\n"
    "Exit 0 when it answers 200 (every stage works), 1 otherwise: unhealthy,\n"
    "not running, no api.listen, or no answer within 5 s. For container\n"
    "HEALTHCHECKs: it needs no curl.\n";

static const char archive_help[] =
    "usage: wharf archive verify PATH [--pubkey FILE] [--from T] [--to T] [--json]\n"
    "       wharf archive cat PATH [--from T] [--to T] [--where FIELD=VALUE]...\n"
    "\n"
    "PATH is the directory of an `archive` output. T is a date (2026-11-23, midnight\n"
    "UTC) or an RFC 3339 time; --from is inclusive, --to exclusive.\n"
    "\n"
    "  verify   recomputes every segment's SHA-256 and the manifest's hash chain,\n"
    "           checks the Ed25519 signatures with --pubkey (a PEM public key), and\n"
    "           prints each problem as 'FAIL KIND: where and what'; with --from/--to\n"
    "           only segments in the range are hashed (the chain is always checked\n"
    "           whole). --json prints the result as one ECS event. Exit 0 when\n"
    "           everything verifies, 1 when something does not, 2 on bad usage\n"
    "  cat      prints the events in [--from, --to) as NDJSON, in archive order,\n"
    "           reading only the segments and frames whose times meet the range;\n"
    "           --where keeps events whose field (dotted path) has exactly VALUE\n";

static const char check_help[] =
    "usage: wharf check -c FILE\n"
    "\n"
    "Validates FILE without running anything. Exit 0 when valid; otherwise every\n"
    "problem is printed as FILE:LINE: message and the exit status is 2.\n";

static const struct {
    const char *command;
    const char *text;
} help_topics[] = {
    {"run", run_help},       {"check", check_help},   {"archive", archive_help},
    {"buffer", buffer_help}, {"health", health_help}, {"parsers", parsers_help},
    {"parse", parsers_help},
};

/* The help of COMMAND, or NULL when it has none of its own. */
static const char *cli_help_text(const char *command)
{
    for (size_t i = 0; command != NULL && i < sizeof help_topics / sizeof help_topics[0]; i++)
        if (strcmp(help_topics[i].command, command) == 0)
            return help_topics[i].text;
    return NULL;
}

void wharf_cli_help(const char *topic)
{
    const char *text = cli_help_text(topic);
    fputs(text != NULL ? text : usage_text, stdout);
}

/* `wharf COMMAND ... --help` (or -h) anywhere after the command: no command
 * takes "-h" or "--help" as an option's value, so it always asks for help. */
static int cli_asks_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (cli_help_text(cmd) != NULL && cli_asks_help(argc, argv)) {
        wharf_cli_help(cmd);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return wharf_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return wharf_cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "buffer") == 0)
        return wharf_cmd_buffer(argc - 1, argv + 1);
    if (strcmp(cmd, "health") == 0)
        return wharf_cmd_health(argc - 1, argv + 1);
    if (strcmp(cmd, "parsers") == 0)
        return wharf_cmd_parsers(argc - 2, argv + 2);
    if (strcmp(cmd, "parse") == 0)
        return wharf_cmd_parse(argc - 2, argv + 2);
    if (strcmp(cmd, "archive") == 0)
        return wharf_cmd_archive(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("wharf %s (ECS %s)\n", WHARF_VERSION, WHARF_ECS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        wharf_cli_help(argc > 2 ? argv[2] : NULL);
        return 0;
    }
    fprintf(stderr, "wharf: unknown command '%s'\n\n%s", cmd, usage_text);
    return 2;
}
