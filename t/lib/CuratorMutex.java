/*
 * CuratorMutex — Apache Curator's InterProcessMutex (Debian's Curator 5.4
 * jars) driven against one server, printing a transcript that t0810 compares
 * between Apache ZooKeeper and corrald.  Modelled on Curator's own
 * TestInterProcessMutexBase (testReentrant, testReentrantSingleLock,
 * test2Clients), with Curator's test-suite switches on (watchers removed in
 * the foreground, the namespace watcher map checked empty at close).
 *
 * Lines: "STEP name: value" (server-independent facts: no session ids, UUIDs
 * or times) and "PASS name" / "FAIL name: why" per scenario.  The
 * mutual-exclusion flag is cleared before release(), not after as in
 * Curator's testReentrantSingleLock: clearing it after is a race the next
 * holder can win on any server (measured: it fails on ZooKeeper 3.8 too).
 */
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.data.Stat;

public class CuratorMutex {
    static final String PATH = "/locks/our-lock";
    static String hosts;

    static CuratorFramework client() {
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 20000, 10000,
                new ExponentialBackoffRetry(100, 3));
        c.start();
        return c;
    }

    static void check(boolean cond, String what) {
        if (!cond)
            throw new AssertionError(what);
    }

    static void step(String name, Object value) {
        System.out.println("STEP " + name + ": " + value);
    }

    /* The lock nodes; none when the container is gone (checkIntervalMs=1 removes it at once). */
    static List<String> kids(CuratorFramework c) throws Exception {
        try {
            return c.getChildren().forPath(PATH);
        } catch (org.apache.zookeeper.KeeperException.NoNodeException e) {
            return List.of();
        }
    }

    /* A lock node's name without its per-run UUID: "_c_<uuid>-lock-0000000003". */
    static String shape(List<String> kids) {
        List<String> out = new ArrayList<>();
        for (String k : kids)
            out.add(k.replaceAll("^_c_[0-9a-f-]{36}-", "_c_UUID-"));
        out.sort(null);
        return out.toString();
    }

    static String stat(Stat s) {
        return s == null ? "none" : "version=" + s.getVersion() + " cversion=" + s.getCversion()
                + " numChildren=" + s.getNumChildren() + " ephemeral=" + (s.getEphemeralOwner() != 0);
    }

    /* The brief's reentrancy: one thread acquires twice, releases twice. */
    static void reentrantSameThread() throws Exception {
        CuratorFramework a = client(), b = client();
        try {
            InterProcessMutex m = new InterProcessMutex(a, PATH);
            check(m.acquire(10, TimeUnit.SECONDS), "first acquire");
            check(m.acquire(10, TimeUnit.SECONDS), "second acquire (reentrant)");
            List<String> kids = a.getChildren().forPath(PATH);
            step("lock nodes after two acquires", shape(kids));
            check(kids.size() == 1, "one lock node for a reentrant acquire: " + kids);
            step("lock node", stat(a.checkExists().forPath(PATH + "/" + kids.get(0))));
            step("parents", stat(a.checkExists().forPath("/locks")) + " / "
                    + stat(a.checkExists().forPath(PATH)));
            m.release();
            check(m.isAcquiredInThisProcess(), "still held after one release");
            step("lock nodes after one release", shape(kids(a)));
            m.release();
            check(!m.isAcquiredInThisProcess(), "free after two releases");
            List<String> left = kids(a);
            step("lock nodes after two releases", shape(left));
            check(left.isEmpty(), "the lock node is gone: " + left);
            InterProcessMutex other = new InterProcessMutex(b, PATH);
            check(other.acquire(10, TimeUnit.SECONDS), "another client acquires");
            step("the other client's lock nodes", shape(kids(b)));
            other.release();
        } finally {
            a.close();
            b.close();
        }
    }

    /* testReentrant: foo/bar/snafu nest three acquires. */
    static void reentrantNested() throws Exception {
        CuratorFramework c = client();
        try {
            InterProcessMutex m = new InterProcessMutex(c, PATH);
            for (int depth = 1; depth <= 3; depth++) {
                check(m.acquire(10, TimeUnit.SECONDS), "acquire at depth " + depth);
                check(m.isAcquiredInThisProcess(), "held at depth " + depth);
            }
            step("lock nodes at depth 3", shape(kids(c)));
            for (int depth = 3; depth >= 1; depth--) {
                check(m.isAcquiredInThisProcess(), "held before release at depth " + depth);
                m.release();
            }
            check(!m.isAcquiredInThisProcess(), "free after three releases");
        } finally {
            c.close();
        }
    }

    /* testReentrantSingleLock: ten threads share one InterProcessMutex. */
    static void singleLockThreads() throws Exception {
        final int THREADS = 10;
        CuratorFramework c = client();
        ExecutorService pool = Executors.newCachedThreadPool();
        try {
            AtomicBoolean held = new AtomicBoolean(false), first = new AtomicBoolean(true);
            Semaphore gate = new Semaphore(1);
            InterProcessMutex m = new InterProcessMutex(c, PATH);
            List<Future<Object>> all = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                all.add(pool.submit(() -> {
                    gate.acquire();
                    m.acquire();
                    try {
                        check(held.compareAndSet(false, true), "two threads held the lock");
                        if (first.compareAndSet(true, false)) {
                            gate.release(THREADS - 1);
                            long end = System.nanoTime() + 30_000_000_000L;
                            while (gate.availablePermits() > 0 && System.nanoTime() < end)
                                Thread.sleep(20);
                            while (kids(c).size() < THREADS && System.nanoTime() < end)
                                Thread.sleep(20);
                            step("all ten have a lock node", kids(c).size() == THREADS);
                        } else {
                            Thread.sleep(20);
                        }
                    } finally {
                        held.set(false);
                        m.release();
                    }
                    return null;
                }));
            }
            for (Future<Object> f : all)
                f.get(60, TimeUnit.SECONDS);
            step("lock nodes after ten threads", shape(kids(c)));
        } finally {
            pool.shutdownNow();
            c.close();
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("curator-remove-watchers-in-foreground", "true");
        System.setProperty("curator-validate-namespace-watcher-map-empty", "true");
        hosts = args[0];
        int failed = 0;
        String[] names = {"reentrantSameThread", "reentrantNested", "singleLockThreads"};
        for (String n : names) {
            try {
                if (n.equals("reentrantSameThread"))
                    reentrantSameThread();
                else if (n.equals("reentrantNested"))
                    reentrantNested();
                else
                    singleLockThreads();
                System.out.println("PASS " + n);
            } catch (Throwable e) {
                failed++;
                System.out.println("FAIL " + n + ": " + e);
            }
        }
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }
}
