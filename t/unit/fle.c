/*
 * fle.c — unit tests of FastLeaderElection's decision loop
 * (modules/election/fle/fle.c) without sockets: several elections run
 * against one simulated network (messages encoded and decoded with the real
 * codec, delivered in order) and one virtual clock (a timer fires only when
 * no message is in flight).  They check the vote order (epoch, then zxid,
 * then sid), that a decision waits finalizeWait and is the same everywhere,
 * that an observer follows without being counted, that a late joiner
 * follows a settled ensemble through FOLLOWING/LEADING answers (and only
 * once the leader itself said LEADING), that a lonely peer backs off to
 * 60 s and never decides, that a re-election without the old leader picks
 * the next best, and that garbage changes nothing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "fle.h"
#include "corral/module.h"

#define MAX_NODES 6

struct node {
    struct fle f;
    int64_t sid;
    int64_t zxid, epoch;
    int alive, started;
    int64_t timer_at;           /* virtual ms; -1: none */
    int decided_state;
    int64_t decided_leader, decided_at;
    int decisions;
    int sends;
};

static struct node nodes[MAX_NODES];
static int n_nodes;
static struct corral_quorum_view view;
static int64_t now;

struct msg {
    int64_t from, to;
    uint8_t *bytes;
    size_t len;
};
static struct msg queue[4096];
static int q_head, q_len;

static struct node *node_of(int64_t sid)
{
    for (int i = 0; i < n_nodes; i++)
        if (nodes[i].sid == sid)
            return &nodes[i];
    return NULL;
}

static int env_majority(void *arg, const int64_t *sids, int n)
{
    (void)arg;
    int acks = 0;
    for (int i = 0; i < n; i++) {
        int voter = 0;
        for (int j = 0; j < view.n_members; j++)
            voter |= view.members[j].sid == sids[i] && !view.members[j].observer;
        acks += voter;
    }
    return acks > view.n_voting / 2;
}

static int64_t env_zxid(void *arg) { return ((struct node *)arg)->zxid; }
static int64_t env_epoch(void *arg) { return ((struct node *)arg)->epoch; }

static void env_send(void *arg, int64_t sid, const struct fle_notification *n)
{
    struct node *me = arg;
    me->sends++;
    if (q_len == (int)(sizeof queue / sizeof *queue))
        return;                 /* a full network drops (never happens in these runs) */
    struct msg *m = &queue[(q_head + q_len++) % (sizeof queue / sizeof *queue)];
    m->from = me->sid;
    m->to = sid;
    m->len = fle_notification_size(n);
    m->bytes = malloc(m->len);
    fle_notification_encode(m->bytes, n);
}

static void env_timer(void *arg, int ms)
{
    ((struct node *)arg)->timer_at = ms < 0 ? -1 : now + ms;
}

static int env_have_delivered(void *arg) { (void)arg; return 1; }
static void env_connect_all(void *arg) { (void)arg; }

static void env_decided(void *arg, int state, const struct fle_vote *v)
{
    struct node *me = arg;
    me->decided_state = state;
    if (state != CORRAL_PEER_LOOKING) {
        me->decided_leader = v->leader;
        me->decided_at = now;
        me->decisions++;
    }
}

static void env_log(void *arg, int level, const char *fmt, ...)
{
    (void)arg, (void)level, (void)fmt;
}

/* A view of n members; observers listed in obs (sids). */
static void setup(int n, const int64_t *obs, int n_obs)
{
    for (int i = 0; i < n_nodes; i++)
        fle_free(&nodes[i].f);
    while (q_len) {
        free(queue[q_head].bytes);
        q_head = (q_head + 1) % (sizeof queue / sizeof *queue);
        q_len--;
    }
    free(view.members);
    memset(&view, 0, sizeof view);
    memset(nodes, 0, sizeof nodes);
    now = 0;
    n_nodes = n;
    view.members = calloc((size_t)n, sizeof *view.members);
    view.n_members = n;
    view.text = "server.1=h:1:2:participant\nversion=0";
    view.text_len = (int)strlen(view.text);
    for (int i = 0; i < n; i++) {
        view.members[i].sid = i + 1;
        for (int j = 0; j < n_obs; j++)
            view.members[i].observer |= obs[j] == i + 1;
        view.n_voting += !view.members[i].observer;
        nodes[i].sid = i + 1;
        nodes[i].timer_at = -1;
        nodes[i].alive = 1;
        nodes[i].decided_leader = -1;
    }
}

static void start(struct node *nd)
{
    struct fle_env env = {
        .arg = nd, .my_id = nd->sid, .view = &view, .has_majority = env_majority,
        .last_logged_zxid = env_zxid, .current_epoch = env_epoch, .send = env_send,
        .timer = env_timer, .have_delivered = env_have_delivered,
        .connect_all = env_connect_all, .decided = env_decided, .log = env_log,
    };
    if (!nd->started) {
        fle_free(&nd->f);
        fle_init(&nd->f, &env);
        nd->started = 1;
    }
    fle_look(&nd->f);
}

/* Deliver messages, firing timers when the network is idle, until `until` ms. */
static void run(int64_t until)
{
    for (int steps = 0; steps < 200000; steps++) {
        if (q_len) {
            struct msg m = queue[q_head];
            q_head = (q_head + 1) % (sizeof queue / sizeof *queue);
            q_len--;
            struct node *to = node_of(m.to);
            if (to && to->alive && to->started)
                fle_receive(&to->f, m.from, m.bytes, m.len);
            free(m.bytes);
            continue;
        }
        struct node *next = NULL;
        for (int i = 0; i < n_nodes; i++)
            if (nodes[i].alive && nodes[i].started && nodes[i].timer_at >= 0 &&
                (!next || nodes[i].timer_at < next->timer_at))
                next = &nodes[i];
        if (!next || next->timer_at > until)
            break;
        now = next->timer_at;
        next->timer_at = -1;
        fle_timer_fired(&next->f);
    }
    if (now < until)
        now = until;
}

static int all_follow(int64_t leader, int first, int last)
{
    for (int i = first; i <= last; i++) {
        struct node *nd = &nodes[i - 1];
        int want = nd->sid == leader ? CORRAL_PEER_LEADING
                   : view.members[i - 1].observer ? CORRAL_PEER_OBSERVING
                                                  : CORRAL_PEER_FOLLOWING;
        if (nd->decided_state != want || nd->decided_leader != leader)
            return 0;
    }
    return 1;
}

int main(void)
{
    /* the predicate and vote equality on their own */
    ok(fle_vote_beats(1, 5, 2, 3, 9, 1), "a higher epoch wins over a higher zxid and sid");
    ok(fle_vote_beats(1, 9, 1, 3, 5, 1), "same epoch: the higher zxid wins over a higher sid");
    ok(fle_vote_beats(3, 5, 1, 2, 5, 1) && !fle_vote_beats(2, 5, 1, 3, 5, 1),
       "same epoch and zxid: the higher sid wins");
    ok(!fle_vote_beats(3, 5, 1, 3, 5, 1), "a vote does not beat itself");
    struct fle_vote a = {3, 7, 1, 1, CORRAL_PEER_FOLLOWING, 2}, b = {3, 9, 4, 1, CORRAL_PEER_LEADING, 2};
    ok(fle_vote_equal(&a, &b), "settled votes: leader and peer epoch only (ZOOKEEPER-1805)");
    b.state = CORRAL_PEER_LOOKING;
    ok(!fle_vote_equal(&a, &b), "with a LOOKING side: all four numbers");
    b = (struct fle_vote){3, 7, 1, 2, CORRAL_PEER_LEADING, 0};
    ok(fle_vote_equal(&a, &b), "a version-0 vote against a newer one: the leader only (ZOOKEEPER-1732)");

    /* 1: three fresh peers, equal zxids: the highest sid, after finalizeWait */
    setup(3, NULL, 0);
    for (int i = 0; i < 3; i++)
        start(&nodes[i]);
    run(10000);
    ok(all_follow(3, 1, 3), "3 fresh peers elect sid 3; 1 and 2 follow");
    ok(nodes[0].decided_at >= FLE_FINALIZE_WAIT_MS && nodes[2].decided_at >= FLE_FINALIZE_WAIT_MS,
       "no one decides before finalizeWait (%lld ms)", (long long)nodes[2].decided_at);
    ok(nodes[0].decisions == 1 && nodes[1].decisions == 1 && nodes[2].decisions == 1,
       "each decides once");
    ok(nodes[0].f.current.election_epoch == 1, "in round 1");

    /* 2: the zxid beats the sid, the epoch beats the zxid */
    setup(3, NULL, 0);
    nodes[0].zxid = 0x100000005, nodes[0].epoch = 1;
    nodes[1].zxid = 0x100000009, nodes[1].epoch = 1;
    nodes[2].zxid = 0x100000002, nodes[2].epoch = 1;
    for (int i = 0; i < 3; i++)
        start(&nodes[i]);
    run(10000);
    ok(all_follow(2, 1, 3), "the highest zxid (sid 2) leads");
    setup(3, NULL, 0);
    nodes[0].zxid = 0x100000009, nodes[0].epoch = 1;
    nodes[1].zxid = 0x200000001, nodes[1].epoch = 2;
    nodes[2].zxid = 0x100000009, nodes[2].epoch = 1;
    for (int i = 0; i < 3; i++)
        start(&nodes[i]);
    run(10000);
    ok(all_follow(2, 1, 3), "the highest epoch (sid 2) leads over larger-zxid peers of epoch 1");

    /* 3: an observer (sid 4) observes the same leader and is never counted */
    int64_t obs[] = {4};
    setup(4, obs, 1);
    for (int i = 0; i < 4; i++)
        start(&nodes[i]);
    run(10000);
    ok(all_follow(3, 1, 4), "3 voters + observer: 3 leads, 4 observes");
    ok(nodes[3].f.prop_leader == INT64_MIN || nodes[3].decided_leader == 3,
       "the observer proposed MIN_VALUE");
    /* only voters plus the observer itself: a voter and the observer are no quorum */
    setup(4, obs, 1);
    start(&nodes[0]);
    start(&nodes[3]);
    run(120000);
    ok(nodes[0].decisions == 0 && nodes[3].decisions == 0,
       "one voter and an observer never decide (the observer does not count)");

    /* 4: a lonely peer backs off to 60 s and never decides */
    setup(3, NULL, 0);
    start(&nodes[0]);
    run(200);
    int sends_early = nodes[0].sends;
    run(600000);
    ok(nodes[0].decisions == 0, "alone, no decision in 10 minutes");
    is_int(nodes[0].f.not_timeout, FLE_MAX_NOTIFICATION_INTERVAL_MS, "the interval reached 60 s");
    ok(nodes[0].sends - sends_early < 60, "and it resent only a few dozen times (%d)",
       nodes[0].sends - sends_early);

    /* 5: a late joiner follows the settled ensemble (FOLLOWING/LEADING answers) */
    setup(3, NULL, 0);
    start(&nodes[0]);
    start(&nodes[1]);
    run(10000);
    ok(all_follow(2, 1, 2), "1 and 2 alone elect 2");
    start(&nodes[2]);
    run(20000);
    ok(nodes[2].decided_state == CORRAL_PEER_FOLLOWING && nodes[2].decided_leader == 2,
       "sid 3, later and higher, follows 2 instead of taking over");
    ok(nodes[1].decided_state == CORRAL_PEER_LEADING && nodes[1].decisions == 1, "2 still leads");

    /* 6: without the leader's own LEADING word, a joiner does not follow */
    setup(3, NULL, 0);
    start(&nodes[0]);
    start(&nodes[1]);
    run(10000);
    nodes[1].alive = 0;         /* the leader is gone; 1 still says FOLLOWING 2 */
    start(&nodes[2]);
    run(30000);
    ok(nodes[2].decisions == 0, "3 does not follow 2 on 1's word alone (checkLeader)");

    /* 7: re-election after the leader is gone: the next best */
    setup(3, NULL, 0);
    for (int i = 0; i < 3; i++)
        start(&nodes[i]);
    run(10000);
    nodes[2].alive = 0;
    int64_t lost_at = now;
    nodes[0].f.finalize_wait_later = nodes[1].f.finalize_wait_later = FLE_FINALIZE_WAIT_LATER_MS;
    fle_set_state(&nodes[0].f, CORRAL_PEER_LOOKING);
    fle_set_state(&nodes[1].f, CORRAL_PEER_LOOKING);
    run(20000);
    ok(all_follow(2, 1, 2), "without 3, 2 leads and 1 follows");
    is_int(nodes[0].f.current.election_epoch, 2, "in round 2");
    ok(nodes[0].decided_at - lost_at >= FLE_FINALIZE_WAIT_LATER_MS &&
       nodes[0].decided_at - lost_at < FLE_FINALIZE_WAIT_MS,
       "a second election waits the shorter finalizeWait (decided after %lld ms)",
       (long long)(nodes[0].decided_at - lost_at));

    /*
     * 7b: the usual race after a leader is lost: 2's LOOKING notification
     * reaches 1 while 1 still follows (answered with its old vote), then 1
     * looks with a worse proposal than 2's.  2 tells 1 its own at once
     * rather than leave 1 to wait for a re-send: decided within one
     * finalizeWait, not one notification timeout more.
     */
    setup(3, NULL, 0);
    for (int i = 0; i < 3; i++)
        start(&nodes[i]);
    run(10000);
    nodes[2].alive = 0;
    lost_at = now;
    nodes[0].f.finalize_wait_later = nodes[1].f.finalize_wait_later = FLE_FINALIZE_WAIT_LATER_MS;
    fle_set_state(&nodes[1].f, CORRAL_PEER_LOOKING);
    run(now);                   /* delivered while 1 still follows 3 */
    fle_set_state(&nodes[0].f, CORRAL_PEER_LOOKING);
    run(20000);
    ok(all_follow(2, 1, 2) && nodes[0].decided_at - lost_at < FLE_MIN_NOTIFICATION_INTERVAL_MS,
       "one peer looking before the other: decided after %lld ms, within the first notification "
       "timeout", (long long)(nodes[0].decided_at - lost_at));

    /* 8: updateElectionVote changes what late joiners are told */
    fle_set_vote_epoch(&nodes[1].f, 7);
    fle_set_vote_epoch(&nodes[0].f, 7);
    nodes[2].alive = 1;
    nodes[2].started = 0;
    start(&nodes[2]);
    run(40000);
    ok(nodes[2].decided_leader == 2 && nodes[2].f.current.peer_epoch == 7,
       "a joiner follows 2 with the new epoch 7");

    /* 9: garbage from a voter changes nothing */
    setup(3, NULL, 0);
    start(&nodes[0]);
    int64_t clock = nodes[0].f.logicalclock, prop = nodes[0].f.prop_leader;
    uint8_t junk[64];
    memset(junk, 0xab, sizeof junk);
    fle_receive(&nodes[0].f, 2, junk, 3);
    fle_receive(&nodes[0].f, 2, junk, 41);
    fle_receive(&nodes[0].f, 2, junk, sizeof junk);   /* state 0xabababab: unknown, ignored */
    ok(nodes[0].f.logicalclock == clock && nodes[0].f.prop_leader == prop &&
       nodes[0].f.state == CORRAL_PEER_LOOKING, "malformed or unknown-state votes are ignored");

    for (int i = 0; i < n_nodes; i++)
        fle_free(&nodes[i].f);
    free(view.members);
    while (q_len) {
        free(queue[q_head].bytes);
        q_head = (q_head + 1) % (sizeof queue / sizeof *queue);
        q_len--;
    }
    return done_testing();
}
