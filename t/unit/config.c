/*
 * config.c — unit tests of the zoo.cfg reader (core/config.c): comments and
 * blank lines, last value wins, integer and boolean parsing with errors that
 * name file, line and key, and unknown keys rejected while ZooKeeper's own
 * keys are accepted.
 */
#include <stdio.h>
#include <unistd.h>
#include "tap.h"
#include "config.h"

int main(void)
{
    struct config cfg;
    const char *text =
        "# a comment\n"
        "tickTime=2000\n"
        "\n"
        "! another comment\n"
        "dataDir = /tmp/x \n"
        "clientPort=2181\n"
        "clientPort=2182\n"
        "skipACL=yes\n"
        "server.1=127.0.0.1:2888:3888\n"
        "maxClientCnxns=abc\n"
        "bogusKey=1\n";
    ok(config_parse(&cfg, "test.cfg", text) == 0, "a valid config parses");
    is_str(config_value(&cfg, "dataDir"), "/tmp/x", "values are trimmed");
    is_str(config_value(&cfg, "clientPort"), "2182", "the last value of a key wins");
    long long v;
    ok(config_get_int(&cfg, "tickTime", 3000, 1, 100000, &v) == 0 && v == 2000, "integer read");
    ok(config_get_int(&cfg, "initLimit", 10, 1, 100, &v) == 0 && v == 10, "absent key gives default");
    ok(config_get_int(&cfg, "maxClientCnxns", 60, 0, 1000, &v) == -1, "non-integer is an error");
    ok(config_get_int(&cfg, "tickTime", 3000, 1, 100, &v) == -1, "out-of-range is an error");
    int b;
    ok(config_get_bool(&cfg, "skipACL", 0, &b) == 0 && b == 1, "boolean 'yes' read as true");
    is_int(config_find(&cfg, "bogusKey")->line, 11, "entries remember their line");

    /* Capture the log to check that the error names file, line and key. */
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int unknown = config_check_keys(&cfg, NULL, 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[512] = {0};
    rewind(tmp);
    size_t n = fread(line, 1, sizeof line - 1, tmp);
    line[n] = 0;
    fclose(tmp);
    is_int(unknown, 1, "exactly one unknown key (server.1 etc. are ZooKeeper keys)");
    ok(strstr(line, "test.cfg:11: unknown key 'bogusKey'") != NULL,
       "the error names file, line and key");

    struct corral_config_key mod_keys[] = {{"bogusKey", NULL}, {NULL, NULL}};
    const struct corral_config_key *tables[] = {mod_keys};
    ok(config_check_keys(&cfg, tables, 1) == 0, "a module's own key is accepted");
    ok(config_key_matches("storage.file.*", "storage.file.preAllocSize"), "prefix patterns match");
    ok(!config_key_matches("tickTime", "tickTimeX"), "exact keys match exactly");
    config_free(&cfg);

    ok(config_parse(&cfg, "bad.cfg", "novalue\n") == -1, "a line without '=' is an error");
    config_free(&cfg);
    return done_testing();
}
