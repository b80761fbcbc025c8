/*
 * pattern.c — string.find, string.match, string.gmatch and string.gsub for
 * the sandbox: Lua 5.4's pattern language, with a step budget.
 *
 * Why not the stock functions: lstrlib's matcher is one C call as far as the
 * VM is concerned, so the count hook never fires inside it, and patterns
 * backtrack.  The trim idiom s:match("^%s*(.-)%s*$") is quadratic on a long
 * run of spaces, ("a"):rep(1e5):find(".-.-.-.-b") far worse: one call held
 * the event loop for minutes.  Debian's liblua exports no matcher we could
 * meter, so this file is a matcher of its own.  It keeps Lua 5.4.4's
 * semantics — same results, same captures, same error messages, the same
 * 32-capture and nesting-depth-200 limits (it recurses where Lua's does) —
 * and counts its work: every pattern item tried, every subject character
 * tested, roughly every STEP_BYTES bytes compared or copied in bulk.  The
 * steps are charged to the running hook call's instruction budget
 * (lp_budget_*, sandbox.c); when it runs out, the matcher raises the
 * instruction-limit error exactly as the count hook does, and every later VM
 * instruction raises it again, so a pcall in the script cannot swallow it.
 *
 * Steps are tallied in the matcher (`left` counts down from what the budget
 * allowed when it started) and settled with the budget before any Lua code
 * can run (a gsub replacement function or __index) and before raising.
 */
#define _GNU_SOURCE             /* memmem */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "lua_plugin.h"

#define MAX_CAPTURES 32         /* LUA_MAXCAPTURES */
#define MAX_DEPTH 200           /* lstrlib's MAXCCALLS: "pattern too complex" */
#define CAP_OPEN (-1)           /* a capture opened and not yet closed */
#define CAP_POSITION (-2)       /* a position capture, "()" */
#define STEP_BYTES 32           /* bytes of memcmp/memmem/copying per step */

struct matcher {
    lua_State *L;
    const char *s0, *s_end;     /* the subject */
    const char *p_end;          /* end of the pattern */
    int depth;                  /* recursion levels still allowed */
    int ncap;
    struct {
        const char *at;
        ptrdiff_t len;          /* or CAP_OPEN, CAP_POSITION */
    } cap[MAX_CAPTURES];
    long long budget, left;     /* steps allowed at the last settle, and left of them */
};

/* Charge the steps taken since the last settle (raises when over budget). */
static void settle(struct matcher *m)
{
    long long spent = m->budget - m->left;
    lp_budget_charge(m->L, spent);
    m->budget = m->left = lp_budget_left(m->L);
}

static void steps(struct matcher *m, long long n)
{
    m->left -= n;
    if (m->left < 0)
        settle(m);              /* over: raises the instruction-limit error */
}

#define STEP(m) steps((m), 1)

/* A pattern or replacement error: settle first, then raise as luaL_error would. */
__attribute__((noreturn)) static void fail(struct matcher *m, const char *fmt, int arg)
{
    settle(m);
    luaL_error(m->L, fmt, arg);
    abort();                    /* not reached: luaL_error does not return */
}

static void matcher_init(struct matcher *m, lua_State *L, const char *s, size_t ls,
                         const char *p, size_t lp)
{
    m->L = L;
    m->s0 = s;
    m->s_end = s + ls;
    m->p_end = p + lp;
    m->budget = m->left = lp_budget_left(L);
}

/* Before each attempt at a subject position. */
static void matcher_reset(struct matcher *m)
{
    m->depth = MAX_DEPTH;
    m->ncap = 0;
}

/* ---- single-character items ------------------------------------------- */

/* Does c belong to class %cl?  An upper-case letter is the complement. */
static int in_class(int c, int cl)
{
    int yes;
    switch (tolower(cl)) {
    case 'a': yes = isalpha(c); break;
    case 'c': yes = iscntrl(c); break;
    case 'd': yes = isdigit(c); break;
    case 'g': yes = isgraph(c); break;
    case 'l': yes = islower(c); break;
    case 'p': yes = ispunct(c); break;
    case 's': yes = isspace(c); break;
    case 'u': yes = isupper(c); break;
    case 'w': yes = isalnum(c); break;
    case 'x': yes = isxdigit(c); break;
    case 'z': yes = c == 0; break;      /* deprecated in Lua 5.2, still accepted */
    default: return cl == c;    /* %. %% %( ...: the character itself */
    }
    return isupper(cl) ? !yes : yes != 0;
}

/*
 * Is c in the set that opens at p ('[') and closes at close (its ']')?
 * Members are characters, %classes and ranges a-z; a leading ^ negates.
 */
static int in_set(int c, const char *p, const char *close)
{
    int member = 1;
    if (*++p == '^') {
        member = 0;
        p++;
    }
    for (; p < close; p++) {
        if (*p == '%') {
            p++;
            if (in_class(c, (unsigned char)*p))
                return member;
        } else if (p[1] == '-' && p + 2 < close) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2])
                return member;
            p += 2;
        } else if ((unsigned char)*p == c) {
            return member;
        }
    }
    return !member;
}

/*
 * Where the single-character item at p ends: after ".", "x", "%x" or a
 * whole "[...]" set.  In a set the first character (after an optional ^)
 * is always a member, so "[]]" is the set of "]"; "%]" is escaped.
 */
static const char *item_end(struct matcher *m, const char *p)
{
    if (*p == '%') {
        if (p + 1 >= m->p_end)
            fail(m, "malformed pattern (ends with '%%')", 0);
        return p + 2;
    }
    if (*p != '[')
        return p + 1;
    const char *q = p + 1;
    if (*q == '^')
        q++;
    do {
        if (q >= m->p_end)
            fail(m, "malformed pattern (missing ']')", 0);
        if (*q == '%' && q + 1 < m->p_end)
            q++;
        q++;
    } while (*q != ']');        /* Lua strings end with a NUL: *p_end is readable */
    return q + 1;
}

/* Does the item [p, ep) match the subject character at s? */
static int single(struct matcher *m, const char *s, const char *p, const char *ep)
{
    STEP(m);
    if (s >= m->s_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case '%': return in_class(c, (unsigned char)p[1]);
    case '[': return in_set(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ---- the matcher ---------------------------------------------------------- */

static const char *match(struct matcher *m, const char *s, const char *p);

/* x* and x+: take as many as match, then give them back one by one. */
static const char *longest(struct matcher *m, const char *s, const char *p, const char *ep)
{
    ptrdiff_t n = 0;
    while (single(m, s + n, p, ep))
        n++;
    for (; n >= 0; n--) {
        const char *e = match(m, s + n, ep + 1);
        if (e)
            return e;
    }
    return NULL;
}

/* x-: try the rest first, take one more x only when the rest fails. */
static const char *shortest(struct matcher *m, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *e = match(m, s, ep + 1);
        if (e)
            return e;
        if (!single(m, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *open_capture(struct matcher *m, const char *s, const char *p, ptrdiff_t kind)
{
    if (m->ncap >= MAX_CAPTURES)
        fail(m, "too many captures", 0);
    m->cap[m->ncap].at = s;
    m->cap[m->ncap].len = kind;
    m->ncap++;
    const char *e = match(m, s, p);
    if (!e)
        m->ncap--;
    return e;
}

/* ")" closes the innermost capture still open. */
static const char *close_capture(struct matcher *m, const char *s, const char *p)
{
    int i = m->ncap - 1;
    while (i >= 0 && m->cap[i].len != CAP_OPEN)
        i--;
    if (i < 0)
        fail(m, "invalid pattern capture", 0);
    m->cap[i].len = s - m->cap[i].at;
    const char *e = match(m, s, p);
    if (!e)
        m->cap[i].len = CAP_OPEN;
    return e;
}

/* %bxy: from an x at s to its balancing y. */
static const char *balanced(struct matcher *m, const char *s, const char *p)
{
    if (p + 1 >= m->p_end)
        fail(m, "malformed pattern (missing arguments to '%%b')", 0);
    if (s >= m->s_end || *s != p[0])
        return NULL;
    int nest = 1;
    while (++s < m->s_end) {
        STEP(m);
        if (*s == p[1]) {
            if (--nest == 0)
                return s + 1;
        } else if (*s == p[0]) {
            nest++;
        }
    }
    return NULL;
}

/* %1-%9: the text an earlier, closed capture matched, again. */
static const char *backref(struct matcher *m, const char *s, int digit)
{
    int i = digit - '1';
    if (i < 0 || i >= m->ncap || m->cap[i].len == CAP_OPEN)
        fail(m, "invalid capture index %%%d", i + 1);
    if (m->cap[i].len == CAP_POSITION)
        return NULL;            /* a position is no text: never matches */
    size_t len = (size_t)m->cap[i].len;
    steps(m, (long long)(len / STEP_BYTES));
    if ((size_t)(m->s_end - s) >= len && memcmp(m->cap[i].at, s, len) == 0)
        return s + len;
    return NULL;
}

/*
 * Match the pattern from p against the subject from s: the end of the
 * match, or NULL.  Items that need no backtracking loop here; recursion
 * happens where Lua's does (captures, ?, *, +, -), each level counted
 * against MAX_DEPTH.
 */
static const char *match(struct matcher *m, const char *s, const char *p)
{
    if (m->depth-- == 0)
        fail(m, "pattern too complex", 0);
    for (;;) {
        STEP(m);
        if (p == m->p_end)
            break;
        if (*p == '(') {
            s = p[1] == ')' ? open_capture(m, s, p + 2, CAP_POSITION)
                            : open_capture(m, s, p + 1, CAP_OPEN);
            break;
        }
        if (*p == ')') {
            s = close_capture(m, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == m->p_end) {       /* elsewhere '$' is itself */
            if (s != m->s_end)
                s = NULL;
            break;
        }
        if (*p == '%' && p[1] == 'b') {
            s = balanced(m, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == '%' && p[1] == 'f') {     /* frontier: not in set before s, in it at s */
            p += 2;
            if (*p != '[')
                fail(m, "missing '[' after '%%f' in pattern", 0);
            const char *ep = item_end(m, p);
            int before = s == m->s0 ? 0 : (unsigned char)s[-1];
            int at = (unsigned char)*s;     /* the terminating NUL at the end */
            if (in_set(before, p, ep - 1) || !in_set(at, p, ep - 1)) {
                s = NULL;
                break;
            }
            p = ep;
            continue;
        }
        if (*p == '%' && isdigit((unsigned char)p[1])) {
            s = backref(m, s, (unsigned char)p[1]);
            if (!s)
                break;
            p += 2;
            continue;
        }
        /* a single-character item, maybe followed by a quantifier */
        const char *ep = item_end(m, p);
        char quant = ep < m->p_end ? *ep : 0;
        if (!single(m, s, p, ep)) {
            if (quant == '*' || quant == '?' || quant == '-') {
                p = ep + 1;     /* zero repetitions are fine */
                continue;
            }
            s = NULL;
            break;
        }
        if (quant == '?') {
            const char *e = match(m, s + 1, ep + 1);
            if (e) {
                s = e;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (quant == '+') {
            s = longest(m, s + 1, p, ep);
            break;
        }
        if (quant == '*') {
            s = longest(m, s, p, ep);
            break;
        }
        if (quant == '-') {
            s = shortest(m, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

/* ---- captures ----------------------------------------------------------- */

/*
 * Capture i of the match [s, e): its text in *text and its length, or
 * CAP_POSITION (the position is m->cap[i].at).  With no captures at all,
 * capture 0 is the whole match.
 */
static ptrdiff_t capture(struct matcher *m, int i, const char *s, const char *e,
                         const char **text)
{
    if (i >= m->ncap) {
        if (i != 0)
            fail(m, "invalid capture index %%%d", i + 1);
        *text = s;
        return e - s;
    }
    if (m->cap[i].len == CAP_OPEN)
        fail(m, "unfinished capture", 0);
    *text = m->cap[i].at;
    return m->cap[i].len;
}

static void push_capture(struct matcher *m, int i, const char *s, const char *e)
{
    const char *text;
    ptrdiff_t len = capture(m, i, s, e, &text);
    if (len == CAP_POSITION)
        lua_pushinteger(m->L, (lua_Integer)(text - m->s0) + 1);
    else
        lua_pushlstring(m->L, text, (size_t)len);
}

/* Every capture (the whole match when there are none and s is given). */
static int push_captures(struct matcher *m, const char *s, const char *e)
{
    int n = m->ncap == 0 && s ? 1 : m->ncap;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(m, i, s, e);
    return n;
}

/* ---- the library functions ------------------------------------------------ */

/* An init argument (1-based, negative from the end) as a 0-based offset. */
static size_t start_offset(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos - 1;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 0;
    return len + (size_t)pos;
}

/* Without any of these a find pattern is plain text (embedded NULs are text too). */
static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i]))
            return 1;
    return 0;
}

static int find_or_match(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        lp_budget_charge(L, 1 + (long long)((lp + ls - init) / STEP_BYTES));
        const char *at = lp ? memmem(s + init, ls - init, p, lp) : s + init;
        if (at) {
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(at - s + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    struct matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    int anchored = *p == '^';
    if (anchored)
        p++;
    const char *at = s + init;
    do {
        matcher_reset(&m);
        const char *e = match(&m, at, p);
        if (e) {
            settle(&m);
            if (!find)
                return push_captures(&m, at, e);
            lua_pushinteger(L, (lua_Integer)(at - s) + 1);
            lua_pushinteger(L, (lua_Integer)(e - s));
            return push_captures(&m, NULL, NULL) + 2;
        }
    } while (at++ < m.s_end && !anchored);
    settle(&m);
    luaL_pushfail(L);
    return 1;
}

static int sb_find(lua_State *L) { return find_or_match(L, 1); }
static int sb_match(lua_State *L) { return find_or_match(L, 0); }

/*
 * gmatch's iterator: upvalues are the subject, the pattern (kept alive for
 * the pointers below) and this state.  An empty match right where the
 * previous match ended is skipped (Lua 5.4), so "%a*" does not yield ""
 * after every word.  A '^' is an ordinary character here, as in Lua.
 */
struct gmatch {
    struct matcher m;
    const char *next;           /* where the next search starts */
    const char *last;           /* end of the previous match */
};

static int gmatch_next(lua_State *L)
{
    struct gmatch *g = lua_touserdata(L, lua_upvalueindex(3));
    const char *p = lua_tostring(L, lua_upvalueindex(2));
    g->m.L = L;
    g->m.budget = g->m.left = lp_budget_left(L);
    for (const char *at = g->next; at <= g->m.s_end; at++) {
        matcher_reset(&g->m);
        const char *e = match(&g->m, at, p);
        if (e && e != g->last) {
            g->next = g->last = e;
            settle(&g->m);
            return push_captures(&g->m, at, e);
        }
    }
    g->next = g->m.s_end + 1;   /* nothing more: later calls end at once */
    settle(&g->m);
    return 0;
}

static int sb_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_offset(luaL_optinteger(L, 3, 1), ls);
    lua_settop(L, 2);
    struct gmatch *g = lua_newuserdatauv(L, sizeof *g, 0);
    if (init > ls)
        init = ls + 1;
    matcher_init(&g->m, L, s, ls, p, lp);
    g->next = s + init;
    g->last = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* A replacement string: %0 the match, %1-%9 captures, %% a percent sign. */
static void add_template(struct matcher *m, luaL_Buffer *b, const char *s, const char *e)
{
    size_t len;
    const char *t = lua_tolstring(m->L, 3, &len);
    size_t added = 0;
    const char *pc;
    while ((pc = memchr(t, '%', len)) != NULL) {
        luaL_addlstring(b, t, (size_t)(pc - t));
        added += (size_t)(pc - t);
        int d = (unsigned char)pc[1];       /* the NUL after the string when '%' ends it */
        if (d == '%') {
            luaL_addchar(b, '%');
        } else if (isdigit(d)) {
            const char *text = s;
            ptrdiff_t n = d == '0' ? e - s : capture(m, d - '1', s, e, &text);
            if (n == CAP_POSITION) {
                lua_pushinteger(m->L, (lua_Integer)(text - m->s0) + 1);
                luaL_addvalue(b);
            } else {
                luaL_addlstring(b, text, (size_t)n);
                added += (size_t)n;
            }
        } else {
            fail(m, "invalid use of '%c' in replacement string", '%');
        }
        len -= (size_t)(pc + 2 - t);
        t = pc + 2;
    }
    luaL_addlstring(b, t, len);
    steps(m, (long long)((added + len) / STEP_BYTES));
}

/*
 * Add the replacement for the match [s, e); 1 when it changed the text.  A
 * table is indexed and a function called with the captures; nil or false
 * keeps the match.  Lua code may run here, so the matcher settles first
 * and takes up what budget is left afterwards.
 */
static int add_replacement(struct matcher *m, luaL_Buffer *b, const char *s, const char *e,
                           int kind)
{
    lua_State *L = m->L;
    if (kind != LUA_TFUNCTION && kind != LUA_TTABLE) {
        add_template(m, b, s, e);
        return 1;
    }
    settle(m);
    if (kind == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    }
    m->budget = m->left = lp_budget_left(L);
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int sb_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    int kind = lua_type(L, 3);
    lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION ||
                            kind == LUA_TTABLE,
                     3, "string/function/table");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    struct matcher m;
    matcher_init(&m, L, src, ls, p, lp);
    int anchored = *p == '^';
    if (anchored)
        p++;
    const char *last = NULL;    /* end of the previous match: no empty match right there */
    lua_Integer n = 0;
    int changed = 0;
    while (n < max_n) {
        matcher_reset(&m);
        const char *e = match(&m, src, p);
        if (e && e != last) {
            n++;
            changed |= add_replacement(&m, &b, src, e, kind);
            src = last = e;
        } else if (src < m.s_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchored)
            break;
    }
    settle(&m);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.s_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void lp_open_patterns(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"find", sb_find},
        {"match", sb_match},
        {"gmatch", sb_gmatch},
        {"gsub", sb_gsub},
        {NULL, NULL},
    };
    lua_getglobal(L, "string");
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}
