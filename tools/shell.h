/*
 * shell.h — the `corral` CLI's client commands (ls, get, set, create,
 * delete, stat, watch, shell); see shell.c.
 */
#ifndef CORRAL_TOOLS_SHELL_H
#define CORRAL_TOOLS_SHELL_H

#include <stdio.h>

/* True when name is one of the client commands. */
int shell_is_command(const char *name);
/* Run argv[0] (a client command) with its arguments against server; exit status. */
int shell_run(const char *server, int argc, char **argv);
/* The commands' usage lines. */
void shell_usage(FILE *f);

#endif
