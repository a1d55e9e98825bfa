// Reads every message of a topic back from Apache RocketMQ brokers with the Java consumer
// (DefaultMQPullConsumer: each queue from its min to its max offset) and prints one JSON line per
// message, for tests/apache.rs to compare with what mqtui reported sending.
//
//   java -cp "$LIB/*" ReadBack.java NAMESRV TOPIC [ACCESS_KEY SECRET_KEY]
//
// A line: broker, queue, queue_offset, msg_id (the UNIQ_KEY), offset_msg_id, tags, keys,
// properties (all of them), sys_flag, born_ms, store_ms, store_size (its bytes in the commit
// log: a compressed body counts its compressed bytes), body_base64 (decompressed by the client,
// as an application sees it). The last line: {"done":true,"messages":N}.
import java.nio.charset.StandardCharsets;
import java.util.*;

import com.alibaba.fastjson.JSON;
import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.RPCHook;

@SuppressWarnings("deprecation")
public class ReadBack {
    public static void main(String[] a) throws Exception {
        String namesrv = a[0], topic = a[1];
        RPCHook hook = a.length >= 4 ? new AclClientRPCHook(new SessionCredentials(a[2], a[3])) : null;
        DefaultMQPullConsumer c = new DefaultMQPullConsumer("mqtui_readback_" + ProcessHandle.current().pid(), hook);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("readback-" + ProcessHandle.current().pid());
        c.start();
        long n = 0;
        StringBuilder out = new StringBuilder();
        try {
            List<MessageQueue> queues = new ArrayList<>(c.fetchSubscribeMessageQueues(topic));
            Collections.sort(queues);
            for (MessageQueue mq : queues) {
                long offset = c.minOffset(mq), max = c.maxOffset(mq);
                while (offset < max) {
                    PullResult r = c.pull(mq, "*", offset, 32, 10_000);
                    if (r.getPullStatus() != PullStatus.FOUND) {
                        if (r.getPullStatus() == PullStatus.NO_NEW_MSG) break;
                        throw new IllegalStateException(mq + " at " + offset + ": " + r.getPullStatus());
                    }
                    for (MessageExt m : r.getMsgFoundList()) {
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("broker", mq.getBrokerName());
                        line.put("queue", mq.getQueueId());
                        line.put("queue_offset", m.getQueueOffset());
                        line.put("msg_id", m.getMsgId());
                        line.put("offset_msg_id", org.apache.rocketmq.common.message.MessageDecoder.createMessageId(
                            m.getStoreHost(), m.getCommitLogOffset()));
                        line.put("tags", m.getTags());
                        line.put("keys", m.getKeys());
                        line.put("properties", new TreeMap<>(m.getProperties()));
                        line.put("sys_flag", m.getSysFlag());
                        line.put("born_ms", m.getBornTimestamp());
                        line.put("store_ms", m.getStoreTimestamp());
                        line.put("store_size", m.getStoreSize());
                        line.put("body_base64", Base64.getEncoder().encodeToString(m.getBody()));
                        out.append(JSON.toJSONString(line)).append('\n');
                        n++;
                    }
                    if (out.length() > 1 << 20) {
                        System.out.print(out);
                        out.setLength(0);
                    }
                    offset = r.getNextBeginOffset();
                }
            }
        } finally {
            c.shutdown();
        }
        out.append("{\"done\":true,\"messages\":").append(n).append("}\n");
        System.out.print(out);
        System.out.flush();
        System.exit(0);
    }
}
