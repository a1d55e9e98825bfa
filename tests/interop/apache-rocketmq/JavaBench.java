// The Java client's async producer as a performance anchor for scripts/bench-produce: COUNT
// sends of SIZE bytes, at most IN_FLIGHT outstanding (a semaphore released in the callback), after
// a warm-up of WARMUP sends that is not measured (the JIT). Prints one JSON line: msgs/s, p50/p99
// latency (send call to callback), failures, and the process CPU spent in the measured phase
// (OperatingSystemMXBean), in µs per message.
//
//   java -cp "$LIB/*" JavaBench.java NAMESRV TOPIC COUNT IN_FLIGHT SIZE [WARMUP]
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.producer.*;
import org.apache.rocketmq.common.message.Message;

public class JavaBench {
    static long[] run(DefaultMQProducer p, String topic, int n, int inFlight, byte[] body, AtomicInteger failed)
        throws Exception {
        Semaphore slots = new Semaphore(inFlight);
        long[] lat = new long[n];
        for (int i = 0; i < n; i++) {
            slots.acquire();
            final int k = i;
            final long t0 = System.nanoTime();
            try {
                p.send(new Message(topic, body), new SendCallback() {
                    public void onSuccess(SendResult r) {
                        lat[k] = System.nanoTime() - t0;
                        if (r.getSendStatus() != SendStatus.SEND_OK) failed.incrementAndGet();
                        slots.release();
                    }
                    public void onException(Throwable e) {
                        lat[k] = System.nanoTime() - t0;
                        failed.incrementAndGet();
                        slots.release();
                    }
                });
            } catch (Exception e) {
                lat[k] = System.nanoTime() - t0;
                failed.incrementAndGet();
                slots.release();
            }
        }
        if (!slots.tryAcquire(inFlight, 60, TimeUnit.SECONDS)) throw new IllegalStateException("callbacks missing");
        return lat;
    }

    public static void main(String[] a) throws Exception {
        String ns = a[0], topic = a[1];
        int n = Integer.parseInt(a[2]), inFlight = Integer.parseInt(a[3]), size = Integer.parseInt(a[4]);
        int warmup = a.length > 5 ? Integer.parseInt(a[5]) : 100_000;
        byte[] body = new byte[size];
        for (int i = 0; i < size; i++) body[i] = (byte) ('a' + i % 26);
        DefaultMQProducer p = new DefaultMQProducer("java_bench_group");
        p.setNamesrvAddr(ns);
        p.setInstanceName("java-bench-" + ProcessHandle.current().pid());
        p.start();
        com.sun.management.OperatingSystemMXBean os =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        AtomicInteger failed = new AtomicInteger();
        run(p, topic, warmup, inFlight, body, new AtomicInteger());
        long cpu0 = os.getProcessCpuTime(), t0 = System.nanoTime();
        long[] lat = run(p, topic, n, inFlight, body, failed);
        double secs = (System.nanoTime() - t0) / 1e9;
        double cpuUs = (os.getProcessCpuTime() - cpu0) / 1e3 / n;
        p.shutdown();
        Arrays.sort(lat);
        System.out.printf(java.util.Locale.ROOT,
            "{\"mode\":\"java-bench\",\"sent\":%d,\"failed\":%d,\"tps\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"cpu_us_per_msg\":%.3f,\"warmup\":%d}%n",
            n, failed.get(), n / secs, lat[n / 2] / 1e6, lat[(int) (n * 0.99)] / 1e6, cpuUs, warmup);
        System.exit(0);
    }
}
