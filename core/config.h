/*
 * config.h — zoo.cfg-style configuration (Java properties: key=value lines,
 * '#' or '!' comments).  The file is read once at start; every lookup error
 * names the file, the line and the key, so an operator can fix it without
 * reading source.
 */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include "corral/module.h"

struct config_entry {
    char *key;
    char *value;
    int line;
    int warned;         /* a warning about this value was logged */
};

struct config {
    char *path;
    struct config_entry *entries;
    int n_entries;
};

/* Parse FILE; on error print "FILE:LINE: why" via the log and return -1. */
int config_load(struct config *cfg, const char *path);
/* Parse from a string (tests); `name` stands in for the file name. */
int config_parse(struct config *cfg, const char *name, const char *text);
void config_free(struct config *cfg);

/* The last value given for key (ZooKeeper's properties semantics), or NULL. */
const struct config_entry *config_find(const struct config *cfg, const char *key);
const char *config_value(const struct config *cfg, const char *key);
int config_get_int(const struct config *cfg, const char *key, long long def,
                   long long min, long long max, long long *out);
int config_get_bool(const struct config *cfg, const char *key, int def, int *out);

/*
 * Check every key against the core's table and the given module tables; each
 * unknown key is logged as "FILE:LINE: unknown key 'K'".  Returns the number
 * of unknown keys.
 */
int config_check_keys(const struct config *cfg,
                      const struct corral_config_key *const *module_tables, int n_tables);

/* Does `name` match pattern `pat` (exact, or prefix when pat ends in '*')? */
int config_key_matches(const char *pat, const char *name);

#endif
