// Apache RocketMQ's Java client (DefaultMQProducer, 4.9.x or 5.x: the classpath decides) sends N
// messages of one kind to a cluster and prints one JSON line about it, for tests/apache_client.rs.
//
//   java -cp "$LIB/*" JavaProducer.java NAMESRV TOPIC KIND N
//
// KIND: sync, async, oneway, batch (of 10), ordered (MessageQueueSelector by key hash, 16 keys),
// delay (level 3), props (keys, tag, user properties), compressed (an 8 KiB body: zlib).
// Each message carries the user property mqtui.seq (its number) and, but for oneway, the line
// says per send what came back: failures and their first errors, offset msgIds that decode to a
// broker address and offset, the queues each ordering key went to and whether its offsets rose.
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

import org.apache.rocketmq.client.producer.*;
import org.apache.rocketmq.common.message.*;

public class JavaProducer {
    static final Set<String> errors = ConcurrentHashMap.newKeySet();
    static final AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), badIds = new AtomicInteger();
    static final Map<String, AtomicInteger> perBroker = new ConcurrentHashMap<>();

    static void error(Throwable e) {
        failed.incrementAndGet();
        if (errors.size() < 5) errors.add(e.toString());
    }

    // What a send result says: SEND_OK, an offset msgId that decodes, a UNIQ_KEY msgId.
    static void result(SendResult r) {
        if (r.getSendStatus() != SendStatus.SEND_OK) {
            failed.incrementAndGet();
            if (errors.size() < 5) errors.add("status " + r.getSendStatus());
            return;
        }
        ok.incrementAndGet();
        perBroker.computeIfAbsent(r.getMessageQueue().getBrokerName(), b -> new AtomicInteger()).incrementAndGet();
        for (String id : r.getOffsetMsgId().split(",")) {
            try {
                MessageId m = MessageDecoder.decodeMessageId(id);
                InetSocketAddress a = (InetSocketAddress) m.getAddress();
                if (a.getPort() <= 0 || m.getOffset() < 0) badIds.incrementAndGet();
            } catch (Exception e) {
                badIds.incrementAndGet();
                if (errors.size() < 5) errors.add("offset msgId " + id + ": " + e);
            }
        }
        if (r.getMsgId() == null || r.getMsgId().length() < 32) badIds.incrementAndGet();
    }

    static Message message(String topic, String kind, int i) {
        byte[] body;
        if (kind.equals("compressed")) {
            body = new byte[8192];
            for (int j = 0; j < body.length; j++) body[j] = (byte) ('a' + (j * 7 + i) % 26);
        } else {
            body = ("java " + kind + " " + i).getBytes(StandardCharsets.UTF_8);
        }
        Message m = new Message(topic, "Tag" + kind, body);
        m.putUserProperty("mqtui.seq", Integer.toString(i));
        if (kind.equals("props")) {
            m.setKeys(Arrays.asList("k" + i, "order-" + (i % 100)));
            m.putUserProperty("region", "eu-west");
            m.putUserProperty("trace", "t-" + i);
        }
        if (kind.equals("delay")) m.setDelayTimeLevel(3);
        return m;
    }

    public static void main(String[] a) throws Exception {
        String namesrv = a[0], topic = a[1], kind = a[2];
        int n = Integer.parseInt(a[3]);
        DefaultMQProducer p = new DefaultMQProducer("java_peer_" + kind);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("java-peer-" + kind + "-" + ProcessHandle.current().pid());
        p.setRetryTimesWhenSendFailed(2);
        p.setRetryTimesWhenSendAsyncFailed(2);
        p.start();
        long start = System.nanoTime();
        Map<Integer, String> keyQueues = new HashMap<>();
        Map<Integer, Long> keyLast = new HashMap<>();
        int keyDisorder = 0, keyMoved = 0;
        try {
            switch (kind) {
                case "async": {
                    Semaphore inFlight = new Semaphore(256);
                    CountDownLatch done = new CountDownLatch(n);
                    for (int i = 0; i < n; i++) {
                        inFlight.acquire();
                        p.send(message(topic, kind, i), new SendCallback() {
                            public void onSuccess(SendResult r) { result(r); inFlight.release(); done.countDown(); }
                            public void onException(Throwable e) { error(e); inFlight.release(); done.countDown(); }
                        });
                    }
                    if (!done.await(120, TimeUnit.SECONDS)) errors.add("callbacks missing after 120 s: " + done.getCount());
                    break;
                }
                case "oneway":
                    for (int i = 0; i < n; i++) {
                        try { p.sendOneway(message(topic, kind, i)); ok.incrementAndGet(); } catch (Exception e) { error(e); }
                    }
                    break;
                case "batch":
                    for (int i = 0; i < n; i += 10) {
                        List<Message> batch = new ArrayList<>();
                        for (int j = i; j < Math.min(n, i + 10); j++) batch.add(message(topic, kind, j));
                        try {
                            SendResult r = p.send(batch);
                            result(r);
                            // one result per batch: count the rest of its messages
                            if (r.getSendStatus() == SendStatus.SEND_OK) {
                                ok.addAndGet(batch.size() - 1);
                                if (r.getMsgId().split(",").length != batch.size()) badIds.incrementAndGet();
                            }
                        } catch (Exception e) { error(e); }
                    }
                    break;
                case "ordered": {
                    MessageQueueSelector byKey = (mqs, msg, arg) -> mqs.get(Math.abs(((Integer) arg).hashCode()) % mqs.size());
                    for (int i = 0; i < n; i++) {
                        int key = i % 16;
                        try {
                            SendResult r = p.send(message(topic, kind, i), byKey, key);
                            result(r);
                            String q = r.getMessageQueue().getBrokerName() + "/" + r.getMessageQueue().getQueueId();
                            String before = keyQueues.putIfAbsent(key, q);
                            if (before != null && !before.equals(q)) keyMoved++;
                            Long last = keyLast.put(key, r.getQueueOffset());
                            if (last != null && r.getQueueOffset() <= last) keyDisorder++;
                        } catch (Exception e) { error(e); }
                    }
                    break;
                }
                case "sync": case "delay": case "props": case "compressed":
                    for (int i = 0; i < n; i++) {
                        try { result(p.send(message(topic, kind, i))); } catch (Exception e) { error(e); }
                    }
                    break;
                default:
                    throw new IllegalArgumentException("unknown kind " + kind);
            }
        } finally {
            p.shutdown();
        }
        double secs = (System.nanoTime() - start) / 1e9;
        StringBuilder out = new StringBuilder();
        out.append("{\"kind\":\"").append(kind).append("\",\"sent\":").append(n)
            .append(",\"ok\":").append(ok.get()).append(",\"failed\":").append(failed.get())
            .append(",\"bad_ids\":").append(badIds.get())
            .append(",\"key_moved\":").append(keyMoved).append(",\"key_disorder\":").append(keyDisorder)
            .append(",\"keys\":").append(keyQueues.size())
            .append(",\"secs\":").append(String.format(Locale.ROOT, "%.3f", secs))
            .append(",\"brokers\":{");
        String sep = "";
        for (Map.Entry<String, AtomicInteger> e : new TreeMap<>(perBroker).entrySet()) {
            out.append(sep).append('"').append(e.getKey()).append("\":").append(e.getValue().get());
            sep = ",";
        }
        out.append("},\"errors\":[");
        sep = "";
        for (String e : errors) {
            out.append(sep).append('"').append(e.replace("\\", "\\\\").replace("\"", "'").replace("\n", " ")).append('"');
            sep = ",";
        }
        out.append("]}");
        System.out.println(out);
        System.exit(0);
    }
}
