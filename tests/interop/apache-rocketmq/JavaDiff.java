// The real Java client (DefaultMQProducer of whatever version is on the classpath: 4.9.8, 5.1.4,
// 5.3.3), async, writing what it does as JSON lines in mqtui's schema 1, so that a test can put
// it beside `mqtui produce --java VERSION --output jsonl` (tests/java_diff.rs).
//
//   javac -cp "$LIB/*" -d OUT JavaDiff.java && java -cp "OUT:$LIB/*" JavaDiff NAMESRV TOPIC COUNT RATE [TIMEOUT_MS [START_DELAY_MS]]
//
// COUNT sends, RATE a second, each `send(msg, callback, TIMEOUT_MS)` (default 3000) with retryTimesWhenSendAsyncFailed 2
// and sendLatencyFaultEnable on (as mqtui's default). Nothing of the client is changed; two of its
// objects are wrapped, through interfaces it already has:
// - MQClientAPIImpl's RemotingClient: each invokeAsync is an attempt (broker, queue, start), and
//   its callback or its exception says how the attempt ended: `attempt` lines.
// - MQFaultStrategy's LatencyFaultTolerance: each updateFaultItem with a window is a `fault` line
//   (broker, latency, window), tied to the attempt whose thread made it.
// Each callback is a `result` line; the last line is a `summary`.
import java.lang.reflect.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.*;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.InvokeCallback;
import org.apache.rocketmq.remoting.RemotingClient;
import org.apache.rocketmq.remoting.netty.ResponseFuture;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

public class JavaDiff {
    static final Object out = new Object();
    static final long t0 = System.nanoTime();
    /// The send (1..) each message carries in its user property mqtui.send.
    static final Map<Integer, AtomicInteger> attemptsOf = new ConcurrentHashMap<>();
    static final ThreadLocal<int[]> current = new ThreadLocal<>();
    static Object clientFactory;

    static void line(String json) {
        synchronized (out) {
            System.out.println(json);
            System.out.flush();
        }
    }

    static String q(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static double ms(long nanos) {
        return Math.round(nanos / 1000.0) / 1000.0;
    }

    /// A field of `o`'s class or of a superclass, made accessible.
    static Field find(Object o, String name) throws NoSuchFieldException {
        for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException e) {
                // the superclass, then
            }
        }
        throw new NoSuchFieldException(name);
    }

    static Object get(Object o, String name) throws Exception {
        return find(o, name).get(o);
    }

    static String field(Object o, String name) throws Exception {
        Object v = get(o, name);
        return v == null ? null : v.toString();
    }

    static void set(Object o, String name, Object v) throws Exception {
        find(o, name).set(o, v);
    }

    /// The broker name of a master address, from the client's own broker address table.
    @SuppressWarnings("unchecked")
    static String brokerOf(String addr) {
        try {
            Map<String, Map<Long, String>> table = (Map<String, Map<Long, String>>) get(clientFactory, "brokerAddrTable");
            for (Map.Entry<String, Map<Long, String>> e : table.entrySet()) {
                if (e.getValue().containsValue(addr)) return e.getKey();
            }
        } catch (Exception ignored) {
        }
        return addr;
    }

    /// A field of the request's header: the custom header object before it is encoded (extFields
    /// are filled only when the frame is written), V2's one-letter name or V1's.
    static String headerField(RemotingCommand request, String v2, String v1) {
        Object h = request.readCustomHeader();
        Map<String, String> ext = request.getExtFields();
        try {
            if (h != null) {
                for (String name : new String[] {v2, v1}) {
                    try {
                        return field(h, name);
                    } catch (NoSuchFieldException ignored) {
                    }
                }
            }
        } catch (Exception ignored) {
        }
        if (ext != null) return ext.getOrDefault(v1, ext.get(v2));
        return null;
    }

    static int sendOf(RemotingCommand request) {
        String props = headerField(request, "i", "properties");
        if (props == null) return 0;
        for (String kv : props.split("\u0002")) {
            int i = kv.indexOf('\u0001');
            if (i > 0 && kv.substring(0, i).equals("mqtui.send")) return Integer.parseInt(kv.substring(i + 1));
        }
        return 0;
    }

    static String queueOf(RemotingCommand request) {
        String q = headerField(request, "e", "queueId");
        return q == null ? "null" : q;
    }

    /// Java's outcome of an attempt in mqtui's words.
    static String outcomeOfResponse(int code) {
        if (code == 0) return "ok";
        if (code == 10 || code == 11 || code == 12) return "status";
        return "broker_error";
    }

    static String outcomeOfThrowable(Throwable t, boolean async) {
        String n = t.getClass().getSimpleName();
        switch (n) {
            case "RemotingSendRequestException": return "send_failed";
            case "RemotingTimeoutException": return "timeout";
            case "RemotingConnectException": return async ? "unknown" : "send_failed";
            case "RemotingTooMuchRequestException": return async ? "unknown" : "timeout";
            default: return async ? "unknown" : "send_failed";
        }
    }

    static void attempt(int send, int n, String addr, RemotingCommand req, long start, String outcome, Integer code,
        String javaError, String error) {
        current.set(new int[] {send, n});
        line("{\"type\":\"attempt\",\"send\":" + send + ",\"attempt\":" + n + ",\"broker\":" + q(brokerOf(addr))
            + ",\"queue\":" + queueOf(req) + ",\"latency_ms\":" + ms(System.nanoTime() - start) + ",\"outcome\":"
            + q(outcome) + ",\"code\":" + code + ",\"java_error\":" + q(javaError) + ",\"error\":" + q(error)
            + ",\"addr\":" + q(addr) + ",\"at_ms\":" + ms(start - t0) + ",\"start_ms\":"
            + (System.currentTimeMillis() - (System.nanoTime() - start) / 1_000_000) + "}");
    }

    /// The callback the client gave invokeAsync, wrapped: 4.9.x calls operationComplete alone;
    /// 5.x calls operationComplete and then operationSucceed or operationFail.
    static InvokeCallback wrap(InvokeCallback real, int send, int n, String addr, RemotingCommand req, long start) {
        boolean fiveX = Arrays.stream(InvokeCallback.class.getMethods()).anyMatch(m -> m.getName().equals("operationFail"));
        return (InvokeCallback) Proxy.newProxyInstance(JavaDiff.class.getClassLoader(), new Class<?>[] {InvokeCallback.class},
            (proxy, m, args) -> {
                String name = m.getName();
                if (fiveX && name.equals("operationSucceed")) {
                    RemotingCommand r = (RemotingCommand) args[0];
                    attempt(send, n, addr, req, start, outcomeOfResponse(r.getCode()), r.getCode(),
                        r.getCode() == 0 || r.getCode() == 10 || r.getCode() == 11 || r.getCode() == 12 ? null : "MQBrokerException", r.getRemark());
                } else if (fiveX && name.equals("operationFail")) {
                    Throwable t = (Throwable) args[0];
                    attempt(send, n, addr, req, start, outcomeOfThrowable(t, true), null, t.getClass().getSimpleName(), t.getMessage());
                } else if (!fiveX && name.equals("operationComplete")) {
                    ResponseFuture f = (ResponseFuture) args[0];
                    RemotingCommand r = f.getResponseCommand();
                    if (r != null) {
                        attempt(send, n, addr, req, start, outcomeOfResponse(r.getCode()), r.getCode(),
                            r.getCode() == 0 || r.getCode() == 10 || r.getCode() == 11 || r.getCode() == 12 ? null : "MQBrokerException", r.getRemark());
                    } else if (!f.isSendRequestOK()) {
                        attempt(send, n, addr, req, start, "send_failed", null, "RemotingSendRequestException", "send request failed");
                    } else if (f.isTimeout()) {
                        attempt(send, n, addr, req, start, "timeout", null, "RemotingTimeoutException", "wait response timeout");
                    } else {
                        attempt(send, n, addr, req, start, "unknown", null, "MQClientException", "unknow reseaon");
                    }
                }
                try {
                    return m.invoke(real, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
    }

    public static void main(String[] args) throws Exception {
        String namesrv = args[0], topic = args[1];
        int count = Integer.parseInt(args[2]);
        double rate = Double.parseDouble(args[3]);
        int timeout = args.length > 4 ? Integer.parseInt(args[4]) : 3000;
        long startDelay = args.length > 5 ? Long.parseLong(args[5]) : 0;
        DefaultMQProducer p = new DefaultMQProducer("mqtui_diff_java");
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("diff-" + ProcessHandle.current().pid());
        p.setSendMsgTimeout(timeout);
        p.setRetryTimesWhenSendAsyncFailed(2);
        p.setSendLatencyFaultEnable(true);
        p.start();
        long started = System.nanoTime();
        // The route first, as mqtui looks it up before it sends.
        p.fetchPublishMessageQueues(topic);
        Object impl = p.getDefaultMQProducerImpl();
        clientFactory = get(impl, "mQClientFactory");
        Object api = clientFactory.getClass().getMethod("getMQClientAPIImpl").invoke(clientFactory);
        RemotingClient real = (RemotingClient) get(api, "remotingClient");
        RemotingClient hooked = (RemotingClient) Proxy.newProxyInstance(JavaDiff.class.getClassLoader(),
            new Class<?>[] {RemotingClient.class}, (proxy, m, a) -> {
                if (m.getName().equals("invokeAsync") && a.length == 4 && a[1] instanceof RemotingCommand) {
                    String addr = (String) a[0];
                    RemotingCommand req = (RemotingCommand) a[1];
                    int send = sendOf(req);
                    if (send > 0) {
                        int n = attemptsOf.computeIfAbsent(send, k -> new AtomicInteger()).incrementAndGet();
                        long start = System.nanoTime();
                        a[3] = wrap((InvokeCallback) a[3], send, n, addr, req, start);
                        try {
                            return m.invoke(real, a);
                        } catch (InvocationTargetException e) {
                            Throwable t = e.getCause();
                            attempt(send, n, addr, req, start, outcomeOfThrowable(t, false), null, t.getClass().getSimpleName(), t.getMessage());
                            throw t;
                        }
                    }
                }
                try {
                    return m.invoke(real, a);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        set(api, "remotingClient", hooked);
        Object strategy = get(impl, "mqFaultStrategy");
        Object tolerance = get(strategy, "latencyFaultTolerance");
        Class<?> lft = Class.forName("org.apache.rocketmq.client.latency.LatencyFaultTolerance");
        Object hookedTolerance = Proxy.newProxyInstance(JavaDiff.class.getClassLoader(), new Class<?>[] {lft}, (proxy, m, a) -> {
            if (m.getName().equals("updateFaultItem") && a.length >= 3) {
                long window = (Long) a[2];
                int[] at = current.get();
                if (window > 0) {
                    line("{\"type\":\"fault\",\"broker\":" + q((String) a[0]) + ",\"latency_ms\":" + a[1] + ",\"isolated_ms\":" + window
                        + ",\"send\":" + (at == null ? 0 : at[0]) + ",\"attempt\":" + (at == null ? 0 : at[1])
                        + ",\"reachable\":" + (a.length > 3 ? a[3] : "null") + ",\"at_ms\":" + ms(System.nanoTime() - t0) + "}");
                }
            }
            try {
                return m.invoke(tolerance, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        set(strategy, "latencyFaultTolerance", hookedTolerance);

        // As `mqtui produce --start-delay-ms`: the first send this long after start.
        long until = started + startDelay * 1_000_000L - System.nanoTime();
        if (until > 0) Thread.sleep(until / 1_000_000, (int) (until % 1_000_000));
        AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(count);
        long period = (long) (1_000_000_000L / rate);
        for (int i = 1; i <= count; i++) {
            final int send = i;
            Message msg = new Message(topic, "diff", ("java diff " + i).getBytes(StandardCharsets.UTF_8));
            msg.putUserProperty("mqtui.send", Integer.toString(i));
            long start = System.nanoTime();
            SendCallback cb = new SendCallback() {
                void result(String status, String error, String javaError) {
                    AtomicInteger n = attemptsOf.get(send);
                    line("{\"type\":\"result\",\"send\":" + send + ",\"status\":" + q(status) + ",\"attempts\":"
                        + (n == null ? 0 : n.get()) + ",\"latency_ms\":" + ms(System.nanoTime() - start) + ",\"error\":" + q(error)
                        + ",\"java_error\":" + q(javaError) + "}");
                    done.countDown();
                }

                @Override
                public void onSuccess(SendResult r) {
                    ok.incrementAndGet();
                    result(r.getSendStatus().name(), null, null);
                }

                @Override
                public void onException(Throwable e) {
                    failed.incrementAndGet();
                    Throwable cause = e instanceof MQClientException && e.getCause() != null ? e.getCause() : e;
                    String msgText = e instanceof MQClientException ? ((MQClientException) e).getErrorMessage()
                        : e instanceof MQBrokerException ? e.getMessage() : e.getMessage();
                    result("FAILED", msgText, cause.getClass().getSimpleName());
                }
            };
            try {
                p.send(msg, cb, timeout);
            } catch (Exception e) {
                cb.onException(e);
            }
            long next = start + period;
            long wait = next - System.nanoTime();
            if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        boolean all = done.await(30, TimeUnit.SECONDS);
        line("{\"type\":\"summary\",\"v\":1,\"sent\":" + count + ",\"ok\":" + ok.get() + ",\"failed\":" + failed.get()
            + ",\"complete\":" + all + ",\"java\":" + q(org.apache.rocketmq.common.MQVersion.getVersionDesc(
                org.apache.rocketmq.common.MQVersion.CURRENT_VERSION)) + "}");
        p.shutdown();
        System.exit(0);
    }
}
