// Writes the send requests Apache RocketMQ's Java client builds (its own classes: the header as
// DefaultMQProducerImpl.sendKernelImpl fills it, SendMessageRequestHeaderV2, RemotingCommand's
// encoder), one whole frame per file, for the demo broker's header tests (tests/peer.rs).
//
//   java -cp "$LIB/*" RequestFrames.java OUTDIR PREFIX
//
// Files: PREFIX_send_v2_json.bin, PREFIX_send_v2_rocketmq.bin, PREFIX_send_v1_json.bin,
// PREFIX_send_batch_json.bin.
import java.nio.ByteBuffer;
import java.nio.file.*;

import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;

public class RequestFrames {
    static final Class<?> V1, V2;
    static final int SEND_MESSAGE = 10, SEND_MESSAGE_V2 = 310, SEND_BATCH_MESSAGE = 320;

    static {
        // 5.x moved the protocol classes from common to remoting.
        Class<?> v1, v2;
        try {
            v1 = Class.forName("org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeader");
            v2 = Class.forName("org.apache.rocketmq.remoting.protocol.header.SendMessageRequestHeaderV2");
        } catch (ClassNotFoundException e) {
            try {
                v1 = Class.forName("org.apache.rocketmq.common.protocol.header.SendMessageRequestHeader");
                v2 = Class.forName("org.apache.rocketmq.common.protocol.header.SendMessageRequestHeaderV2");
            } catch (ClassNotFoundException e2) {
                throw new RuntimeException(e2);
            }
        }
        V1 = v1;
        V2 = v2;
    }

    // The setter by name (4.9.x takes some as primitives, 5.x boxed).
    static void set(Object o, String name, Class<?> type, Object v) throws Exception {
        for (java.lang.reflect.Method m : o.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == 1) {
                m.invoke(o, v);
                return;
            }
        }
        throw new NoSuchMethodException(name);
    }

    // The header sendKernelImpl fills for a message to queue 1 of broker-a.
    static Object header(boolean batch) throws Exception {
        Object h = V1.getDeclaredConstructor().newInstance();
        set(h, "setProducerGroup", String.class, "java_fixture_group");
        set(h, "setTopic", String.class, "MqtuiFixture");
        set(h, "setDefaultTopic", String.class, "TBW102");
        set(h, "setDefaultTopicQueueNums", Integer.class, 4);
        set(h, "setQueueId", Integer.class, 1);
        set(h, "setSysFlag", Integer.class, 0);
        set(h, "setBornTimestamp", Long.class, 1_700_000_000_000L);
        set(h, "setFlag", Integer.class, 0);
        set(h, "setProperties", String.class,
            "KEYS\u0001k1\u0002TAGS\u0001TagA\u0002UNIQ_KEY\u00017F0000010001000000000000000000A1\u0002WAIT\u0001true\u0002");
        set(h, "setReconsumeTimes", Integer.class, 0);
        set(h, "setUnitMode", Boolean.class, false);
        set(h, "setBatch", Boolean.class, batch);
        try {
            set(h, "setBname", String.class, "broker-a"); // 5.x
        } catch (NoSuchMethodException e) {
            // 4.9.x headers have no broker name
        }
        return h;
    }

    static Object v2(Object v1) throws Exception {
        return V2.getMethod("createSendMessageRequestHeaderV2", V1).invoke(null, v1);
    }

    static RemotingCommand request(int code, Object header) throws Exception {
        Class<?> custom = Class.forName(RemotingCommand.class.getPackageName().replace(".protocol", "") + ".CommandCustomHeader");
        return (RemotingCommand) RemotingCommand.class.getMethod("createRequestCommand", int.class, custom)
            .invoke(null, code, header);
    }

    static void save(Path dir, String name, RemotingCommand cmd) throws Exception {
        ByteBuffer b = cmd.encode();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        Files.write(dir.resolve(name), out);
        System.out.println(name + ": " + out.length + " bytes");
    }

    public static void main(String[] a) throws Exception {
        // As the client does at start: requests carry its version (MQVersion.CURRENT_VERSION).
        System.setProperty(RemotingCommand.REMOTING_VERSION_KEY,
            Integer.toString(org.apache.rocketmq.common.MQVersion.CURRENT_VERSION));
        Path dir = Paths.get(a[0]);
        String p = a[1];
        Files.createDirectories(dir);
        byte[] body = "hello from the Java client".getBytes("UTF-8");

        RemotingCommand r = request(SEND_MESSAGE_V2, v2(header(false)));
        r.setBody(body);
        save(dir, p + "_send_v2_json.bin", r);

        r = request(SEND_MESSAGE_V2, v2(header(false)));
        r.setBody(body);
        Class<?> st = Class.forName(RemotingCommand.class.getPackageName() + ".SerializeType");
        RemotingCommand.class.getMethod("setSerializeTypeCurrentRPC", st).invoke(r, st.getField("ROCKETMQ").get(null));
        save(dir, p + "_send_v2_rocketmq.bin", r);

        r = request(SEND_MESSAGE, header(false));
        r.setBody(body);
        save(dir, p + "_send_v1_json.bin", r);

        java.util.List<org.apache.rocketmq.common.message.Message> msgs = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            org.apache.rocketmq.common.message.Message m =
                new org.apache.rocketmq.common.message.Message("MqtuiFixture", "TagA", ("batch " + i).getBytes("UTF-8"));
            m.putUserProperty("seq", Integer.toString(i));
            msgs.add(m);
        }
        r = request(SEND_BATCH_MESSAGE, v2(header(true)));
        r.setBody(MessageDecoder.encodeMessages(msgs));
        save(dir, p + "_send_batch_json.bin", r);
    }
}
