/* parser_route.c - which parsers an event is tried on (see parser.c).
 *
 * Every exact `when` value is in a hash table keyed by (route path, value);
 * an event looks up the value of each routed field once per round (a
 * handful of fields in any realistic set) and gets the parsers to try.
 * Conditions with only regexes, and parsers without `when`, are checked on
 * every event; they are meant to be few. Events of one container route
 * alike, so the first round is memoized on the values it read; a round
 * after a rewrite re-checks only the conditions that read a path the
 * matching rule may have written. */
#include "parser_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t parser_route_hash(size_t path, const char *value, size_t len)
{
    return parser_text_hash(value, len) ^ ((uint64_t)path * UINT64_C(0x9E3779B97F4A7C15));
}

/* 1 when memo holds the bytes s; else 0, and memo holds them from now on.
 * The memos of routing compare by content: container metadata and rule
 * memory may be reused at the same address. */
static int memo_same(wharf_buf_t *memo, const char *s, size_t n)
{
    if (memo->len == n && (n == 0 || memcmp(memo->data, s, n) == 0))
        return 1;
    memo->len = 0;
    wharf_buf_append(memo, s, n);
    return 0;
}

/* A label's value, from the memo when the labels are those of the last
 * lookup. */
static void when_label_lookup(route_path_t *rp, wharf_event_t *e)
{
    wharf_str_t labels = {"", 0};
    if (wharf_event_has(e, WHARF_F_CONTAINER_LABELS) &&
        e->v[WHARF_F_CONTAINER_LABELS].type == WHARF_V_RAW)
        labels = e->v[WHARF_F_CONTAINER_LABELS].u.str;
    if (memo_same(&rp->memo_labels, labels.ptr, labels.len) && rp->memo_state != 0) {
        rp->state = rp->memo_state;
        rp->text = rp->memo_text.len > 0 ? rp->memo_text.data : "";
        rp->text_len = rp->memo_text.len;
        return;
    }
    rp->text = parser_field_text(e, rp->field, rp->path, rp->len, &rp->text_len);
    rp->state = rp->text != NULL ? 1 : 2;
    rp->memo_text.len = 0;
    wharf_buf_append(&rp->memo_text, rp->text ? rp->text : "", rp->text ? rp->text_len : 0);
    rp->memo_state = rp->state;
}

/* The value of when path k in e, looked up once per routing round. */
static const char *when_text(wharf_parsers_t *ps, wharf_event_t *e, size_t k, size_t *len)
{
    route_path_t *rp = &ps->route_paths[k];
    if (rp->state == 0 && rp->stable) {
        when_label_lookup(rp, e);
    } else if (rp->state == 0) {
        rp->text = parser_field_text(e, rp->field, rp->path, rp->len, &rp->text_len);
        rp->state = rp->text != NULL ? 1 : 2;
    }
    *len = rp->text_len;
    return rp->state == 1 ? rp->text : NULL;
}

/* A condition whose regex gives up on the value is not met, and the event
 * is tagged as for a rule (so routing that did so is not memoized). */
static int term_regex_matches(wharf_parsers_t *ps, wharf_event_t *e, when_term_t *t, const char *s,
                              size_t len)
{
    int result;
    if (t->memo && memo_same(&t->memo_subject, s, len) && t->memo_result >= 0) {
        result = t->memo_result;
    } else {
        int rc = parser_re_match(&t->re, &ps->re_limits, s, len);
        result = rc == PARSER_RE_GAVE_UP ? TERM_GAVE_UP : rc > 0;
        if (t->memo)
            t->memo_result = result;
    }
    if (result == TERM_GAVE_UP) {
        wharf_event_tag(e, WHARF_TAG_PARSER_MATCH_LIMIT);
        ps->routing_gave_up = 1;
    }
    return result == 1;
}

static int term_matches(wharf_parsers_t *ps, wharf_event_t *e, when_term_t *t)
{
    size_t len;
    const char *s = when_text(ps, e, t->slot, &len);
    if (s == NULL)
        return 0;
    if (t->kind == WK_REGEX)
        return term_regex_matches(ps, e, t, s, len);
    for (size_t i = 0; i < t->n_values; i++)
        if (t->values[i][0] == (len > 0 ? s[0] : '\0') && strlen(t->values[i]) == len &&
            memcmp(t->values[i], s, len) == 0)
            return 1;
    return 0;
}

static int item_matches(wharf_parsers_t *ps, wharf_event_t *e, when_item_t *w)
{
    for (size_t i = 0; i < w->n_terms; i++)
        if (!term_matches(ps, e, &w->terms[i]))
            return 0;
    return 1;
}

/* Route path k's bit in a mask of paths (past 64 paths, every bit). */
static uint64_t route_path_bit(size_t k)
{
    return k < 64 ? UINT64_C(1) << k : ~UINT64_C(0);
}

static int parser_when_matches(wharf_parsers_t *ps, wharf_event_t *e, size_t p)
{
    for (size_t i = 0; i < ps->v[p].n_when; i++)
        if (item_matches(ps, e, &ps->v[p].when[i]))
            return 1;
    return 0;
}

/* Sets candidate[] for the parsers not yet run. changed: the route paths
 * whose values may differ from the last round (all of them in the first).
 * A parser whose when reads none of them keeps its last answer; of the
 * others, a candidate is checked again, and a non-candidate only through
 * the conditions that read a changed path (the rest were false before). */
static void route_candidates(wharf_parsers_t *ps, wharf_event_t *e, uint64_t changed,
                             int skip_message)
{
    for (size_t k = 0; k < ps->n_route_paths; k++)
        if (changed & route_path_bit(k))
            ps->route_paths[k].state = ps->route_paths[k].hashed = 0;
    for (size_t p = 0; p < ps->n; p++)
        if (ps->done[p])
            ps->candidate[p] = 0;
        else if (ps->candidate[p] && (ps->v[p].when_paths & changed))
            ps->candidate[p] = (unsigned char)parser_when_matches(ps, e, p);
    for (size_t k = 0; k < ps->n_route_paths; k++) {
        route_path_t *rp = &ps->route_paths[k];
        if (!(rp->item_paths & changed)) /* not indexed, or its items read nothing changed */
            continue;
        size_t len;
        const char *s = when_text(ps, e, k, &len);
        if (s == NULL)
            continue;
        if (!rp->hashed)
            rp->hash = parser_route_hash(k, s, len);
        rp->hashed = 1;
        for (route_entry_t *r = ps->routes[rp->hash % ROUTE_BUCKETS]; r != NULL; r = r->next) {
            when_item_t *w = &ps->v[r->parser].when[r->item];
            if (r->path == k && r->value_len == len && !ps->done[r->parser] &&
                !ps->candidate[r->parser] && (w->paths & changed) &&
                !(skip_message && w->reads_message) && memcmp(r->value, s, len) == 0 &&
                (w->n_terms == 1 || item_matches(ps, e, w))) /* one term: the value just found */
                ps->candidate[r->parser] = 1;
        }
    }
    for (size_t i = 0; i < ps->n_scan_items; i++) {
        size_t p = ps->scan_items[2 * i];
        when_item_t *w = &ps->v[p].when[ps->scan_items[2 * i + 1]];
        if (!ps->done[p] && !ps->candidate[p] && (w->paths & changed) &&
            !(skip_message && w->reads_message) && item_matches(ps, e, w))
            ps->candidate[p] = 1;
    }
    for (size_t i = 0; i < ps->n_always; i++)
        if (!ps->done[ps->always[i]])
            ps->candidate[ps->always[i]] = 1;
}

/* 1 when route path k has the value the first round's memo was made for;
 * else it records the value and returns 0. A string or raw JSON value is
 * compared as the event holds it (for a label path, the labels object), so
 * an unchanged one costs a comparison and no conversion; other values by
 * their text. first_state: 0 absent, 1 + the value type, or 255 a text. */
static int route_first_same(wharf_parsers_t *ps, wharf_event_t *e, size_t k)
{
    route_path_t *rp = &ps->route_paths[k];
    const wharf_value_t *v =
        parser_field_value(e, rp->stable ? WHARF_F_CONTAINER_LABELS : rp->field, rp->path, rp->len);
    const char *s = "";
    size_t len = 0;
    unsigned char state = 0;
    if (v != NULL && (v->type == WHARF_V_STR || v->type == WHARF_V_RAW)) {
        s = v->u.str.ptr;
        len = v->u.str.len;
        state = (unsigned char)(1 + v->type);
    } else if (v != NULL && (s = when_text(ps, e, k, &len)) != NULL) {
        state = 255;
    } else {
        s = "";
    }
    int same = memo_same(&rp->first_text, s, len) && state == rp->first_state;
    rp->first_state = state;
    return same;
}

/* The first round: the memo when every route path but message has the
 * value it was made for (else routing without the conditions on message,
 * memoized), then the conditions on message, which differ per event. */
void parser_route_first(wharf_parsers_t *ps, wharf_event_t *e)
{
    for (size_t k = 0; k < ps->n_route_paths; k++)
        ps->route_paths[k].state = ps->route_paths[k].hashed = 0;
    int same = ps->first_valid;
    for (size_t k = 0; k < ps->n_route_paths; k++)
        if (!ps->route_paths[k].message && !route_first_same(ps, e, k))
            same = 0;
    if (same) {
        memcpy(ps->candidate, ps->first, ps->n);
    } else {
        ps->routing_gave_up = 0;
        route_candidates(ps, e, ~UINT64_C(0), 1);
        memcpy(ps->first, ps->candidate, ps->n);
        ps->first_valid = !ps->routing_gave_up;
    }
    for (size_t i = 0; i < ps->n_message_items; i++) {
        size_t p = ps->message_items[2 * i];
        if (!ps->candidate[p] && item_matches(ps, e, &ps->v[p].when[ps->message_items[2 * i + 1]]))
            ps->candidate[p] = 1;
    }
}

void parser_route_again(wharf_parsers_t *ps, wharf_event_t *e, uint64_t changed)
{
    route_candidates(ps, e, changed, 0);
}

/* ---- building the index ------------------------------------------------------ */

static size_t route_path_index(wharf_parsers_t *ps, const char *path)
{
    for (size_t i = 0; i < ps->n_route_paths; i++)
        if (strcmp(ps->route_paths[i].path, path) == 0)
            return i;
    route_path_t *v = realloc(ps->route_paths, (ps->n_route_paths + 1) * sizeof(*v));
    if (v == NULL)
        return SIZE_MAX;
    ps->route_paths = v;
    route_path_t *rp = &v[ps->n_route_paths];
    memset(rp, 0, sizeof(*rp));
    if ((rp->path = strdup(path)) == NULL)
        return SIZE_MAX;
    rp->len = strlen(path);
    rp->field = wharf_field_lookup(path, rp->len);
    rp->stable = strncmp(path, LABELS_PREFIX, sizeof(LABELS_PREFIX) - 1) == 0;
    rp->message = strcmp(path, "message") == 0;
    return ps->n_route_paths++;
}

static int route_add(wharf_parsers_t *ps, size_t path, const char *value, size_t p, size_t item)
{
    route_entry_t *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->value = strdup(value)) == NULL) {
        free(r);
        return -ENOMEM;
    }
    r->path = path;
    r->value_len = strlen(value);
    r->parser = p;
    r->item = item;
    uint64_t h = parser_route_hash(path, value, r->value_len);
    r->next = ps->routes[h % ROUTE_BUCKETS];
    ps->routes[h % ROUTE_BUCKETS] = r;
    return 0;
}

/* Appends the pair (parser, item) to a list of them. */
static int route_list_add(size_t **list, size_t *n, size_t p, size_t item)
{
    size_t *v = realloc(*list, (*n + 1) * 2 * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    *list = v;
    v[2 * *n] = p;
    v[2 * *n + 1] = item;
    (*n)++;
    return 0;
}

int parser_route_item(wharf_parsers_t *ps, size_t p, size_t item)
{
    when_item_t *w = &ps->v[p].when[item];
    for (size_t t = 0; t < w->n_terms; t++) {
        if ((w->terms[t].slot = route_path_index(ps, w->terms[t].path)) == SIZE_MAX)
            return -ENOMEM;
        w->paths |= route_path_bit(w->terms[t].slot);
        w->reads_message |= ps->route_paths[w->terms[t].slot].message;
    }
    ps->v[p].when_paths |= w->paths;
    if (w->reads_message && route_list_add(&ps->message_items, &ps->n_message_items, p, item) < 0)
        return -ENOMEM;
    for (size_t t = 0; t < w->n_terms; t++) {
        if (w->terms[t].kind != WK_EXACT)
            continue;
        size_t path = w->terms[t].slot;
        ps->route_paths[path].item_paths |= w->paths;
        for (size_t v = 0; v < w->terms[t].n_values; v++)
            if (route_add(ps, path, w->terms[t].values[v], p, item) < 0)
                return -ENOMEM;
        return 0;
    }
    return route_list_add(&ps->scan_items, &ps->n_scan_items, p, item);
}

/* 1 when a and b are one path, or one holds the other ("a" and "a.b"). */
static int paths_overlap(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    return memcmp(a, b, n) == 0 && (an == bn || (an < bn ? b[n] : a[n]) == '.');
}

static void rule_writes_path(const wharf_parsers_t *ps, parser_rule_t *r, const char *path,
                             size_t len)
{
    for (size_t k = 0; k < ps->n_route_paths; k++)
        if (paths_overlap(ps->route_paths[k].path, ps->route_paths[k].len, path, len))
            r->route_writes |= route_path_bit(k);
}

/* The route paths a match of r may change: what its fields, set and rest
 * write, and what rule_apply adds (event.original, related.*). */
void parser_rule_route_writes(const wharf_parsers_t *ps, parser_rule_t *r)
{
    r->route_writes = 0;
    for (size_t i = 0; i < r->n_fields; i++)
        rule_writes_path(ps, r, r->fields[i].path, r->fields[i].path_len);
    for (size_t i = 0; i < r->n_set; i++)
        rule_writes_path(ps, r, r->set[i].path, r->set[i].path_len);
    if (r->rest != NULL)
        rule_writes_path(ps, r, r->rest, strlen(r->rest));
    if (r->sets_message)
        rule_writes_path(ps, r, "event.original", 14);
    if (r->related_mask & PARSER_RELATED_IP_MASK)
        rule_writes_path(ps, r, "related.ip", 10);
    if (r->related_mask & ~PARSER_RELATED_IP_MASK)
        rule_writes_path(ps, r, "related.user", 12);
}
