#include "registry/registry_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/log.h"
#include "registry/registry_decode.h"

#define MSG_MAX	      512
#define BAD_NAMES_MAX 1024 /* malformed key names remembered, so each is logged once */
#define BUILD_NAME    "registry"

/* What a build took of a key. */
enum key_use { USE_TEXT = 0, USE_APPLIED, USE_NONE };

/* One steer key of the store. */
struct reg_key {
	char *text;	    /* the current value, decoded; NULL: none decoded yet */
	char *applied;	    /* the value the last applied build held; NULL: none */
	int64_t rev;	    /* mod_revision of the last write */
	int64_t logged_rev; /* revision whose problem was logged; 0: none */
	uint32_t gen;	    /* listing that last saw it */
	enum key_use use;   /* in the build being made */
};

struct reg_replica {
	char addr[REGISTRY_ADDR_MAX]; /* ADDR:PORT as the key writes it */
	struct reg_key k;
};

/* A service name and everything under it: its services/NAME key (present
 * or not) and its replicas/NAME/... keys, sorted by address. */
struct reg_service {
	char name[REGISTRY_NAME_MAX];
	bool present;
	struct reg_key k;
	struct reg_replica **reps;
	int nreps, cap;
};

struct bad_name {
	char *key;
	int64_t rev;
};

/* Where a build's line came from: lines [first, next entry's first). */
struct line_origin {
	int first;
	struct reg_service *svc;
	struct reg_replica *rep; /* NULL: the service's key */
};

struct registry_store {
	char *prefix;
	struct reg_service **svcs; /* sorted by name */
	int nsvcs, cap;
	uint32_t gen;
	bool list_changed;
	struct bad_name bad[BAD_NAMES_MAX];
	int nbad;
	struct registry_counts counts;
	int file_replicas; /* replica keys of a file's service with no services/ key */
};

struct registry_store *registry_store_new(const char *prefix)
{
	struct registry_store *s = calloc(1, sizeof(*s));

	if (!s || !(s->prefix = strdup(prefix))) {
		free(s);
		return NULL;
	}
	return s;
}

static void key_clear(struct reg_key *k)
{
	free(k->text);
	free(k->applied);
	memset(k, 0, sizeof(*k));
}

static void service_free(struct reg_service *svc)
{
	for (int r = 0; r < svc->nreps; r++) {
		key_clear(&svc->reps[r]->k);
		free(svc->reps[r]);
	}
	free(svc->reps);
	key_clear(&svc->k);
	free(svc);
}

void registry_store_free(struct registry_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nsvcs; i++)
		service_free(s->svcs[i]);
	for (int i = 0; i < s->nbad; i++)
		free(s->bad[i].key);
	free(s->svcs);
	free(s->prefix);
	free(s);
}

/* Binary search of a sorted array of pointers to structs whose first member
 * is a name: the index of name, or where it would go (*found false). */
static int find_index(void *const *arr, int n, const char *name, bool *found)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		/* name and addr are the first members of their structs. */
		int mid = lo + (hi - lo) / 2, c = strcmp((const char *)arr[mid], name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Insert p at index at of *arr (n entries, capacity *cap); false: no memory. */
static bool insert_at(void ***arr, int *n, int *cap, int at, void *p)
{
	if (*n == *cap) {
		int grown = *cap ? *cap * 2 : 8;
		void **a = realloc(*arr, (size_t)grown * sizeof(*a));

		if (!a)
			return false;
		*arr = a;
		*cap = grown;
	}
	memmove(&(*arr)[at + 1], &(*arr)[at], (size_t)(*n - at) * sizeof(**arr));
	(*arr)[at] = p;
	(*n)++;
	return true;
}

static void remove_at(void **arr, int *n, int at)
{
	memmove(&arr[at], &arr[at + 1], (size_t)(*n - at - 1) * sizeof(*arr));
	(*n)--;
}

/* The entry named name in a sorted array of pointers to structs of size
 * bytes whose first member is a char[namesz] name; one is created (zeroed,
 * named) where it belongs if there is none and create is set. */
static void *sorted_get(void ***arr, int *n, int *cap, const char *name, size_t size, size_t namesz,
			bool create)
{
	bool found;
	int at = find_index((void *const *)*arr, *n, name, &found);
	char *e;

	if (found)
		return (*arr)[at];
	if (!create || !(e = calloc(1, size)))
		return NULL;
	snprintf(e, namesz, "%s", name);
	if (!insert_at(arr, n, cap, at, e)) {
		free(e);
		return NULL;
	}
	return e;
}

static struct reg_service *service_get(struct registry_store *s, const char *name, bool create)
{
	return sorted_get((void ***)&s->svcs, &s->nsvcs, &s->cap, name, sizeof(struct reg_service),
			  REGISTRY_NAME_MAX, create);
}

static struct reg_replica *replica_get(struct reg_service *svc, const char *addr, bool create)
{
	return sorted_get((void ***)&svc->reps, &svc->nreps, &svc->cap, addr,
			  sizeof(struct reg_replica), REGISTRY_ADDR_MAX, create);
}

/* A service entry with neither its key nor replicas goes. */
static void service_gc(struct registry_store *s, struct reg_service *svc)
{
	bool found;
	int at;

	if (svc->present || svc->nreps)
		return;
	at = find_index((void *const *)s->svcs, s->nsvcs, svc->name, &found);
	if (found) {
		remove_at((void **)s->svcs, &s->nsvcs, at);
		service_free(svc);
	}
}

/* A malformed key name: logged the first time its revision is seen. */
static void bad_name(struct registry_store *s, const char *key, size_t klen, int64_t rev,
		     const char *msg)
{
	for (int i = 0; i < s->nbad; i++)
		if (strlen(s->bad[i].key) == klen && !memcmp(s->bad[i].key, key, klen)) {
			if (s->bad[i].rev == rev)
				return;
			s->bad[i].rev = rev;
			log_warn("registry: %s; skipped", msg);
			return;
		}
	log_warn("registry: %s; skipped", msg);
	if (s->nbad < BAD_NAMES_MAX && (s->bad[s->nbad].key = strndup(key, klen)))
		s->bad[s->nbad++].rev = rev;
}

/* A key's new value, decoded by decode(); on failure the key keeps its last
 * good value, and the problem is logged once per revision. */
static bool key_write(struct reg_key *k, const char *key, size_t klen, int ok, const char *text,
		      const char *msg, int64_t rev)
{
	char *copy;

	k->rev = rev;
	if (!ok) {
		if (k->logged_rev != rev)
			log_warn("registry: key '%.*s': %s; %s", (int)klen, key, msg,
				 k->text ? "it keeps its last good value" : "skipped");
		k->logged_rev = rev;
		return false;
	}
	if (k->text && !strcmp(k->text, text))
		return false;
	copy = strdup(text);
	if (!copy) {
		log_warn("registry: key '%.*s': out of memory; it keeps its last value", (int)klen,
			 key);
		return false;
	}
	free(k->text);
	k->text = copy;
	return true;
}

bool registry_store_put(struct registry_store *s, const char *key, size_t klen, const char *value,
			size_t vlen, int64_t mod_revision)
{
	char name[REGISTRY_NAME_MAX], addr[REGISTRY_ADDR_MAX], msg[MSG_MAX];
	char text[REGISTRY_LINES_MAX];
	struct reg_service *svc;
	struct reg_replica *rep;
	bool changed;
	int ok;

	switch (registry_key_parse(s->prefix, key, klen, name, addr, msg, sizeof(msg))) {
	case REGISTRY_KEY_OTHER:
		return false;
	case REGISTRY_KEY_BAD:
		bad_name(s, key, klen, mod_revision, msg);
		return false;
	case REGISTRY_KEY_SERVICE:
		svc = service_get(s, name, true);
		if (!svc)
			break;
		changed = !svc->present;
		svc->present = true;
		svc->k.gen = s->gen;
		ok = registry_service_text(name, value, vlen, text, sizeof(text), msg,
					   sizeof(msg)) == 0;
		changed = key_write(&svc->k, key, klen, ok, text, msg, mod_revision) ||
			  (changed && svc->k.text);
		s->list_changed |= changed;
		return changed;
	case REGISTRY_KEY_REPLICA:
		svc = service_get(s, name, true);
		rep = svc ? replica_get(svc, addr, true) : NULL;
		if (!rep) {
			if (svc)
				service_gc(s, svc);
			break;
		}
		rep->k.gen = s->gen;
		ok = registry_replica_text(addr, value, vlen, text, sizeof(text), msg,
					   sizeof(msg)) == 0;
		changed = key_write(&rep->k, key, klen, ok, text, msg, mod_revision);
		s->list_changed |= changed;
		return changed;
	}
	log_warn("registry: key '%.*s': out of memory; skipped", (int)klen, key);
	return false;
}

static bool replica_drop(struct registry_store *s, struct reg_service *svc, int r)
{
	struct reg_replica *rep = svc->reps[r];
	bool had = rep->k.text != NULL;

	remove_at((void **)svc->reps, &svc->nreps, r);
	key_clear(&rep->k);
	free(rep);
	service_gc(s, svc);
	return had;
}

static bool service_key_drop(struct registry_store *s, struct reg_service *svc)
{
	bool had = svc->k.text != NULL;

	svc->present = false;
	key_clear(&svc->k);
	service_gc(s, svc);
	return had;
}

bool registry_store_delete(struct registry_store *s, const char *key, size_t klen)
{
	char name[REGISTRY_NAME_MAX], addr[REGISTRY_ADDR_MAX], msg[MSG_MAX];
	struct reg_service *svc;
	bool found;
	int r;

	switch (registry_key_parse(s->prefix, key, klen, name, addr, msg, sizeof(msg))) {
	case REGISTRY_KEY_SERVICE:
		svc = service_get(s, name, false);
		return svc && svc->present && service_key_drop(s, svc);
	case REGISTRY_KEY_REPLICA:
		svc = service_get(s, name, false);
		if (!svc)
			return false;
		r = find_index((void *const *)svc->reps, svc->nreps, addr, &found);
		return found && replica_drop(s, svc, r);
	default:
		return false;
	}
}

void registry_store_list_begin(struct registry_store *s)
{
	s->gen++;
	s->list_changed = false;
}

bool registry_store_list_end(struct registry_store *s)
{
	for (int i = s->nsvcs - 1; i >= 0; i--) {
		struct reg_service *svc = s->svcs[i];

		for (int r = svc->nreps - 1; r >= 0; r--)
			if (svc->reps[r]->k.gen != s->gen)
				s->list_changed |= replica_drop(s, svc, r);
		/* svc may be gone: look it up again by index. */
		if (i < s->nsvcs && s->svcs[i] == svc && svc->present && svc->k.gen != s->gen)
			s->list_changed |= service_key_drop(s, svc);
	}
	return s->list_changed;
}

/* The text a build takes of k, or NULL. */
static const char *key_text(const struct reg_key *k)
{
	return k->use == USE_TEXT ? k->text : k->use == USE_APPLIED ? k->applied : NULL;
}

static bool key_as_applied(const struct reg_key *k)
{
	return k->text && k->applied && !strcmp(k->text, k->applied);
}

static bool file_has_service(const struct steer_config *file, const char *name)
{
	for (int i = 0; file && i < file->nservices; i++)
		if (!strcmp(file->services[i].name, name))
			return true;
	return false;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Log a key's problem once per revision. */
static void key_refused(struct registry_store *s, struct reg_key *k, const char *what,
			const char *msg, const char *outcome)
{
	if (k->logged_rev != k->rev)
		log_warn("registry: key '%s%s': %s; %s", s->prefix, what, msg, outcome);
	k->logged_rev = k->rev;
}

struct build {
	char *text;
	size_t len;
	struct line_origin *origins;
	int norigins, cap;
};

static bool origin_add(struct build *b, int first, struct reg_service *svc, struct reg_replica *rep)
{
	if (b->norigins == b->cap) {
		int grown = b->cap ? b->cap * 2 : 64;
		struct line_origin *o = realloc(b->origins, (size_t)grown * sizeof(*o));

		if (!o)
			return false;
		b->origins = o;
		b->cap = grown;
	}
	b->origins[b->norigins++] = (struct line_origin){first, svc, rep};
	return true;
}

/* The config text: the file's, then each usable service with its usable
 * replicas. Returns 0 or -1 (out of memory). */
static int build_text(struct registry_store *s, const char *file_text,
		      const struct steer_config *file, struct build *b)
{
	FILE *f = open_memstream(&b->text, &b->len);
	int line, budget = (int)steer_limits.replicas; /* replica ids: the maps' limit */
	char what[REGISTRY_NAME_MAX + REGISTRY_ADDR_MAX + 16], too_many[96];

	if (!f)
		return -1;
	b->norigins = 0;
	memset(&s->counts, 0, sizeof(s->counts));
	s->file_replicas = 0;
	for (int i = 0; file && i < file->nservices; i++)
		budget -= file->services[i].nreplicas;
	fputs(file_text, f);
	line = count_lines(file_text);
	if (*file_text && file_text[strlen(file_text) - 1] != '\n') {
		fputc('\n', f);
		line++;
	}
	/* Services as applied last come first, changed and new ones after:
	 * of two keys that clash (one VIP), the config's rules refuse the
	 * later, which is then the newer, and a running service stays. */
	for (int n = 0; n < 2 * s->nsvcs; n++) {
		struct reg_service *svc = s->svcs[n % s->nsvcs];
		const char *t = svc->present ? key_text(&svc->k) : NULL;

		if ((n < s->nsvcs) != key_as_applied(&svc->k))
			continue;

		if (svc->present && file_has_service(file, svc->name)) {
			snprintf(what, sizeof(what), "services/%s", svc->name);
			key_refused(s, &svc->k, what,
				    "the config file has a [service] of that name too (accepted: "
				    "a name in one of them only)",
				    "the file's service is kept");
			t = NULL;
		}
		if (!t) {
			svc->k.use = USE_NONE;
			for (int r = 0; r < svc->nreps; r++) {
				struct reg_replica *rep = svc->reps[r];

				snprintf(what, sizeof(what), "replicas/%s/%s", svc->name,
					 rep->addr);
				if (file_has_service(file, svc->name)) {
					key_refused(s, &rep->k, what,
						    "the service is the config file's, whose "
						    "replicas are the file's",
						    "skipped");
					/* count_skipped() counts those of a present key */
					s->file_replicas += !svc->present;
				}
				rep->k.use = USE_NONE;
			}
			continue;
		}
		if (!origin_add(b, line + 1, svc, NULL))
			goto fail;
		fputs(t, f);
		line += count_lines(t);
		s->counts.services++;
		for (int r = 0; r < svc->nreps; r++) {
			struct reg_replica *rep = svc->reps[r];
			const char *rt = key_text(&rep->k);

			if (!rt)
				continue;
			if (budget <= 0) {
				snprintf(what, sizeof(what), "replicas/%s/%s", svc->name,
					 rep->addr);
				snprintf(
				    too_many, sizeof(too_many),
				    "more than %u replicas in all (limit STEER_MAX_REPLICAS=%u)",
				    steer_limits.replicas, steer_limits.replicas);
				key_refused(s, &rep->k, what, too_many, "skipped");
				rep->k.use = USE_NONE;
				continue;
			}
			budget--;
			if (!origin_add(b, line + 1, svc, rep))
				goto fail;
			fputs(rt, f);
			line += count_lines(rt);
			s->counts.replicas++;
		}
	}
	if (fclose(f))
		return -1;
	return 0;
fail:
	fclose(f);
	return -1;
}

/* The key that a build message ("registry:LINE: ...", or "service 'NAME':
 * ..." from the environment's rules) is about, or NULL. */
static struct line_origin *culprit(struct build *b, const char *err, int file_lines,
				   struct line_origin *by_name)
{
	const char *p = err + strlen(BUILD_NAME);
	int line = 0;

	if (!strncmp(err, BUILD_NAME ":", strlen(BUILD_NAME) + 1) &&
	    sscanf(p, ":%d:", &line) == 1 && line > file_lines) {
		for (int i = b->norigins - 1; i >= 0; i--)
			if (b->origins[i].first <= line)
				return &b->origins[i];
		return NULL;
	}
	if (!strncmp(err, "service '", 9)) {
		for (int i = 0; i < b->norigins; i++) {
			size_t n = strlen(b->origins[i].svc->name);

			if (!b->origins[i].rep && !strncmp(err + 9, b->origins[i].svc->name, n) &&
			    err[9 + n] == '\'') {
				*by_name = b->origins[i];
				return by_name;
			}
		}
	}
	return NULL;
}

/* The message without the build's "registry:LINE: " prefix. */
static const char *bare(const char *err)
{
	const char *p;

	if (strncmp(err, BUILD_NAME ":", strlen(BUILD_NAME) + 1))
		return err;
	p = strstr(err + strlen(BUILD_NAME) + 1, ": ");
	return p ? p + 2 : err;
}

/* A key the build refused: it falls back to its last applied value, or
 * out. */
static void refuse(struct registry_store *s, struct line_origin *o, const char *err)
{
	struct reg_key *k = o->rep ? &o->rep->k : &o->svc->k;
	char what[REGISTRY_NAME_MAX + REGISTRY_ADDR_MAX + 16];

	if (o->rep)
		snprintf(what, sizeof(what), "replicas/%s/%s", o->svc->name, o->rep->addr);
	else
		snprintf(what, sizeof(what), "services/%s", o->svc->name);
	if (k->use == USE_TEXT && k->applied && strcmp(k->applied, k->text)) {
		key_refused(s, k, what, bare(err), "it keeps its last applied value");
		k->use = USE_APPLIED;
	} else {
		key_refused(s, k, what, bare(err),
			    o->rep ? "skipped" : "skipped, with its replicas");
		k->use = USE_NONE;
	}
}

/* Keys whose current value the build does not hold: bad, refused, or
 * clashing with the file. Replicas still waiting for their service's key
 * are not counted. */
static void count_skipped(struct registry_store *s)
{
	s->counts.skipped = s->nbad + s->file_replicas;
	for (int i = 0; i < s->nsvcs; i++) {
		struct reg_service *svc = s->svcs[i];

		if (svc->present)
			s->counts.skipped += !svc->k.text || svc->k.use != USE_TEXT;
		for (int r = 0; svc->present && r < svc->nreps; r++)
			s->counts.skipped +=
			    !svc->reps[r]->k.text || svc->reps[r]->k.use != USE_TEXT;
	}
}

int registry_store_build(struct registry_store *s, const char *file_text, const char *file_name,
			 const struct steer_env *env, struct steer_config *out, char *err,
			 size_t errlen)
{
	struct steer_config *file = NULL;
	struct build b = {};
	int file_lines, ret = -1;

	if (!file_text)
		file_text = "";
	if (*file_text) {
		file = config_new();
		if (!file) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (config_parse_string(file_text, file_name, file, err, errlen))
			goto out;
	}
	file_lines =
	    count_lines(file_text) + (*file_text && file_text[strlen(file_text) - 1] != '\n');
	for (int i = 0; i < s->nsvcs; i++) {
		s->svcs[i]->k.use = USE_TEXT;
		for (int r = 0; r < s->svcs[i]->nreps; r++)
			s->svcs[i]->reps[r]->k.use = USE_TEXT;
	}
	/* Each round that fails refuses one key: at most one per key. */
	for (;;) {
		struct line_origin by_name, *o;

		free(b.text);
		b.text = NULL;
		if (build_text(s, file_text, file, &b)) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (config_parse_string(b.text, BUILD_NAME, out, err, errlen) == 0 &&
		    config_apply_env(out, env, err, errlen) == 0)
			break;
		o = culprit(&b, err, file_lines, &by_name);
		if (!o || (o->rep ? o->rep->k.use : o->svc->k.use) == USE_NONE)
			goto out; /* err says what, from the config's rules */
		refuse(s, o, err);
	}
	count_skipped(s);
	ret = 0;
out:
	free(b.text);
	free(b.origins);
	config_free(file);
	return ret;
}

static void key_applied(struct reg_key *k)
{
	const char *t = key_text(k);
	char *copy = t ? strdup(t) : NULL;

	if (t && !copy)
		return; /* out of memory: the old last good value stays */
	free(k->applied);
	k->applied = copy;
}

void registry_store_applied(struct registry_store *s)
{
	for (int i = 0; i < s->nsvcs; i++) {
		key_applied(&s->svcs[i]->k);
		for (int r = 0; r < s->svcs[i]->nreps; r++)
			key_applied(&s->svcs[i]->reps[r]->k);
	}
}

void registry_store_counts(const struct registry_store *s, struct registry_counts *c)
{
	*c = s->counts;
}
