/*
 * conf.c - crashpipe.conf: the table of settings and its strict parser (conf.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "chain.h"
#include "cleanup.h"
#include "conf.h"
#include "debugcache.h"
#include "gate.h"
#include "keepcore.h"
#include "log.h"
#include "ratelimit.h"
#include "retention.h"
#include "show.h"
#include "stub/hint.h"

/* Larger is not a configuration file. */
#define CONF_MAX_SIZE (64u << 10)

enum conf_type {
	CONF_PATH,		/* an absolute path, no control characters */
	CONF_PATH_LIST,		/* absolute paths separated by ':' */
	CONF_UINT,		/* a decimal number from min to max */
	CONF_BOOL,		/* yes/no, true/false, on/off, 1/0 */
	CONF_WORD,		/* a value the option of the same name takes, checked by check() */
};

struct conf_key {
	const char *section, *key;
	enum conf_type type;
	size_t offset;		/* of the field in struct cp_conf */
	uint64_t min, max;	/* CONF_UINT */
	bool (*check)(const char *value);	/* CONF_WORD */
};

/* The checks of CONF_WORD values: the parsers of the options they stand for. */
static bool check_rate_limit(const char *v)
{
	struct cp_ratelimit rl;
	return cp_ratelimit_parse(v, &rl) == 0;
}

static bool check_size(const char *v)
{
	uint64_t u;
	return cp_parse_size(v, &u) == 0;
}

static bool check_memory(const char *v)
{
	uint64_t u;
	return cp_gate_parse_size(v, true, &u) == 0 && u > 0;
}

static bool check_keep_core(const char *v)
{
	struct cp_keepcore_rules rules = {};
	char *copy = strdup(v);
	bool ok = copy && cp_keepcore_add_rules(&rules, copy) == 0;
	free(copy);
	return ok;
}

#define FIELD(f) offsetof(struct cp_conf, f)

static const struct conf_key keys[] = {
	{ "Handle", "Spool", CONF_PATH, FIELD(spool) },
	{ "Handle", "HintDir", CONF_PATH, FIELD(hint_dir) },
	{ "Handle", "DebugCache", CONF_PATH, FIELD(debug_cache) },
	{ "Handle", "SymbolPath", CONF_PATH_LIST, FIELD(symbol_path) },
	{ "Handle", "MaxFrames", CONF_UINT, FIELD(max_frames), 1, 1000000 },
	{ "Handle", "Live", CONF_BOOL, FIELD(live) },
	{ "Handle", "RateLimit", CONF_WORD, FIELD(rate_limit), .check = check_rate_limit },
	{ "Handle", "KeepCore", CONF_WORD, FIELD(keep_core), .check = check_keep_core },
	{ "Handle", "MaxAnalyses", CONF_UINT, FIELD(max_analyses), 1, CP_GATE_MAX_SLOTS },
	{ "Handle", "MaxMemory", CONF_WORD, FIELD(max_memory), .check = check_memory },
	{ "Spool", "MaxUse", CONF_WORD, FIELD(max_use), .check = check_size },
	{ "Spool", "KeepFree", CONF_WORD, FIELD(keep_free), .check = check_size },
	{ "DAC", "Enable", CONF_BOOL, FIELD(dac) },
	/* At most the default: the analysis's own time limit is derived from it. */
	{ "DAC", "TimeoutSec", CONF_UINT, FIELD(dac_timeout), 1, CP_DEFAULT_DAC_TIMEOUT },
	{ "Chain", "TimeoutSec", CONF_UINT, FIELD(chain_timeout), 0, 3600 },
};

void cp_conf_init(struct cp_conf *conf)
{
	*conf = (struct cp_conf) {
		.spool = strdup(CP_DEFAULT_SPOOL),
		.hint_dir = strdup(CP_HINT_DIR_DEFAULT),
		.debug_cache = strdup(CP_DEBUG_CACHE_DEFAULT),
		.max_frames = CP_DEFAULT_MAX_FRAMES,
		.live = true,
		.dac = true,
		.dac_timeout = CP_DEFAULT_DAC_TIMEOUT,
		.chain_timeout = CP_DEFAULT_CHAIN_TIMEOUT,
	};
}

void cp_conf_deinit(struct cp_conf *conf)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].type == CONF_PATH || keys[i].type == CONF_PATH_LIST || keys[i].type == CONF_WORD) {
			char **p = (char **)((char *)conf + keys[i].offset);
			free(*p);
			*p = NULL;
		}
}

static bool valid_path(const char *s, size_t len)
{
	if (len == 0 || s[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Parse @value for @k into @conf; NULL, or what is wrong with it. */
static const char *set_value(struct cp_conf *conf, const struct conf_key *k, const char *value)
{
	void *field = (char *)conf + k->offset;

	switch (k->type) {
	case CONF_PATH:
	case CONF_PATH_LIST: {
		if (k->type == CONF_PATH_LIST && !*value) {
			free(*(char **)field);
			*(char **)field = NULL;
			return NULL;
		}
		if (k->type == CONF_PATH && !valid_path(value, strlen(value)))
			return "not an absolute path";
		for (const char *p = value; k->type == CONF_PATH_LIST;) {
			size_t n = strcspn(p, ":");
			if (!valid_path(p, n))
				return "not a list of absolute paths separated by ':'";
			if (!p[n])
				break;
			p += n + 1;
		}
		char *copy = strdup(value);
		if (!copy)
			return "out of memory";
		free(*(char **)field);
		*(char **)field = copy;
		return NULL;
	}
	case CONF_UINT: {
		char *end;
		errno = 0;
		unsigned long long u = strtoull(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || errno || *end || u < k->min || u > k->max)
			return "not a number in range";
		*(uint64_t *)field = u;
		return NULL;
	}
	case CONF_BOOL: {
		static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
		for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
			if (strcasecmp(value, yes[i]) == 0) {
				*(bool *)field = true;
				return NULL;
			}
			if (strcasecmp(value, no[i]) == 0) {
				*(bool *)field = false;
				return NULL;
			}
		}
		return "not a boolean (yes or no)";
	}
	case CONF_WORD: {
		if (!k->check(value))
			return "not a value the option of the same name takes (crashpipe.conf(5))";
		char *copy = strdup(value);
		if (!copy)
			return "out of memory";
		free(*(char **)field);
		*(char **)field = copy;
		return NULL;
	}
	}
	return "unknown type";
}

static char *strip(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void parse(struct cp_conf *conf, const char *path, char *text)
{
	char section[64] = "";
	bool section_known = false;
	unsigned line = 0;

	for (char *next, *s = text; s; s = next) {
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		line++;
		s = strip(s);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);
			section_known = false;
			section[0] = '\0';
			if (s[n - 1] != ']' || n - 2 >= sizeof(section)) {
				cp_log(LOG_WARNING, "%s:%u: not a [Section] line; ignored", path, line);
				continue;
			}
			memcpy(section, s + 1, n - 2);
			section[n - 2] = '\0';
			for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
				section_known |= strcmp(keys[i].section, section) == 0;
			if (!section_known)
				cp_log(LOG_WARNING, "%s:%u: unknown section [%.32s]; its settings are ignored", path, line,
				       section);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			cp_log(LOG_WARNING, "%s:%u: not a KEY=VALUE line; ignored", path, line);
			continue;
		}
		*eq = '\0';
		char *key = strip(s), *value = strip(eq + 1);
		if (!section[0]) {
			cp_log(LOG_WARNING, "%s:%u: %.32s= before any [Section]; ignored", path, line, key);
			continue;
		}
		if (!section_known)
			continue;
		const struct conf_key *k = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(keys) && !k; i++)
			if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
				k = &keys[i];
		if (!k) {
			cp_log(LOG_WARNING, "%s:%u: unknown key %.32s= in [%s]; ignored", path, line, key, section);
			continue;
		}
		const char *why = set_value(conf, k, value);
		if (why && k->type == CONF_UINT)
			cp_log(LOG_WARNING, "%s:%u: %s=: %s (%llu to %llu); ignored", path, line, k->key, why,
			       (unsigned long long)k->min, (unsigned long long)k->max);
		else if (why)
			cp_log(LOG_WARNING, "%s:%u: %s=: %s; ignored", path, line, k->key, why);
	}
}

int cp_conf_load(struct cp_conf *conf, const char *path, bool must_exist)
{
	if (!path)
		path = CP_CONF_DEFAULT_PATH;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		int r = -errno;
		if (r == -ENOENT && !must_exist)
			return 0;
		return cp_log_errno(LOG_WARNING, r, "%s: %m; using the defaults", path);
	}
	/* Root acts on it: only root may have written it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 002) ||
	    ((st.st_mode & 020) && st.st_gid != 0)) {
		cp_log(LOG_WARNING, "%s: not a regular file of root's that only root can write; ignored, using the defaults",
		       path);
		return -EPERM;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		cp_log(LOG_WARNING, "%s: larger than %u bytes; ignored, using the defaults", path, CONF_MAX_SIZE);
		return -EFBIG;
	}
	_cleanup_free_ char *text = malloc(CONF_MAX_SIZE + 1);
	size_t len = 0;
	if (!text)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, text + len, CONF_MAX_SIZE - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cp_log_errno(LOG_WARNING, -errno, "%s: %m; using the defaults", path);
		if (n == 0 || (len += (size_t)n) == CONF_MAX_SIZE)
			break;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		cp_log(LOG_WARNING, "%s: holds a NUL byte, not text; ignored, using the defaults", path);
		return -EBADMSG;
	}
	parse(conf, path, text);
	return 0;
}
