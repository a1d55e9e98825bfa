// Which queue the Java client's SelectMessageQueueByHash picks for each key, over the topic's
// publish queues as the Java producer sees them (fetchPublishMessageQueues), for
// tests/apache_content.rs to compare with the queues mqtui sent each key's messages to.
//
//   java -cp "$LIB/*" SelectByHash.java NAMESRV TOPIC KEY...
//
// One line per key: {"key":…,"broker":…,"queue":…}; the last: {"done":true}.
import java.util.*;

import com.alibaba.fastjson.JSON;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.selector.SelectMessageQueueByHash;
import org.apache.rocketmq.common.message.MessageQueue;

public class SelectByHash {
    public static void main(String[] a) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("mqtui_select_" + ProcessHandle.current().pid());
        p.setNamesrvAddr(a[0]);
        p.setInstanceName("select-" + ProcessHandle.current().pid());
        p.start();
        try {
            List<MessageQueue> queues = p.fetchPublishMessageQueues(a[1]);
            SelectMessageQueueByHash selector = new SelectMessageQueueByHash();
            for (int i = 2; i < a.length; i++) {
                MessageQueue mq = selector.select(queues, null, a[i]);
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("key", a[i]);
                line.put("broker", mq.getBrokerName());
                line.put("queue", mq.getQueueId());
                System.out.println(JSON.toJSONString(line));
            }
            System.out.println("{\"done\":true}");
        } finally {
            p.shutdown();
        }
    }
}
