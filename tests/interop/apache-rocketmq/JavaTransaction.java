// Apache RocketMQ's TransactionMQProducer sends N transactional messages to a cluster: message i's
// local transaction commits (i % 3 == 0), rolls back (1) or stays unknown (2); the broker's
// check-backs are answered commit. Waits (up to 40 s) until every unknown one was checked back,
// then prints one JSON line, for tests/apache_client.rs.
//
//   java -cp "$LIB/*" JavaTransaction.java NAMESRV TOPIC N
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

import org.apache.rocketmq.client.producer.*;
import org.apache.rocketmq.common.message.*;

public class JavaTransaction {
    public static void main(String[] a) throws Exception {
        String namesrv = a[0], topic = a[1];
        int n = Integer.parseInt(a[2]);
        Set<String> checked = ConcurrentHashMap.newKeySet();
        AtomicInteger checks = new AtomicInteger();
        TransactionMQProducer p = new TransactionMQProducer("java_peer_tx");
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("java-peer-tx-" + ProcessHandle.current().pid());
        p.setTransactionListener(new TransactionListener() {
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                switch ((Integer) arg % 3) {
                    case 0: return LocalTransactionState.COMMIT_MESSAGE;
                    case 1: return LocalTransactionState.ROLLBACK_MESSAGE;
                    default: return LocalTransactionState.UNKNOW;
                }
            }
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checks.incrementAndGet();
                checked.add(msg.getProperty(MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX));
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        p.start();
        int ok = 0, failed = 0;
        Set<String> unknown = new HashSet<>();
        List<String> errors = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Message m = new Message(topic, "TagTx", ("java tx " + i).getBytes(StandardCharsets.UTF_8));
                try {
                    TransactionSendResult r = p.sendMessageInTransaction(m, i);
                    if (r.getSendStatus() == SendStatus.SEND_OK) ok++; else failed++;
                    if (i % 3 == 2) unknown.add(r.getMsgId());
                } catch (Exception e) {
                    failed++;
                    if (errors.size() < 5) errors.add(e.toString());
                }
            }
            long until = System.currentTimeMillis() + 40_000;
            while (!checked.containsAll(unknown) && System.currentTimeMillis() < until) Thread.sleep(100);
        } finally {
            p.shutdown();
        }
        Set<String> missing = new HashSet<>(unknown);
        missing.removeAll(checked);
        System.out.println("{\"sent\":" + n + ",\"ok\":" + ok + ",\"failed\":" + failed + ",\"unknown\":" + unknown.size()
            + ",\"checks\":" + checks.get() + ",\"unknown_not_checked\":" + missing.size()
            + ",\"errors\":" + com.alibaba.fastjson.JSON.toJSONString(errors) + "}");
    }
}
