package netweave.neo4jlocal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

/**
 * Runs Neo4j embedded with only the Bolt connector, on 127.0.0.1.
 *
 * Usage: Main --data DIR [--port P] [--pagecache BYTES] [--plugins DIR --unrestricted gds.*,apoc.*]
 *
 * With --plugins, Neo4j registers the procedures of the jars in DIR (APOC, GDS) and lets the
 * namespaces named by --unrestricted use its internal API, which both need.
 *
 * Once Bolt listens, the real port is written to DIR/bolt.port and printed as
 * "bolt://127.0.0.1:PORT" on stdout; the process then waits for SIGTERM (or
 * SIGINT) and shuts the database down cleanly.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Path data = null;
        int port = 0;
        long pageCache = 64L * 1024 * 1024;
        Path plugins = null;
        List<String> unrestricted = List.of();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data" -> data = Path.of(args[++i]).toAbsolutePath();
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--pagecache" -> pageCache = Long.parseLong(args[++i]);
                case "--plugins" -> plugins = Path.of(args[++i]).toAbsolutePath();
                case "--unrestricted" -> unrestricted = List.of(args[++i].split(","));
                default -> usage("unknown argument: " + args[i]);
            }
        }
        if (data == null) {
            usage("--data is required");
        }
        if (port < 0 || port > 65535) {
            usage("--port must be 0-65535");
        }
        Files.createDirectories(data);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(data.resolve("neo4j"))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                // Keep-alive every 10 s with 2 probes: the driver's read timeout (a hint of the server)
                // becomes 20 s, so a hung server or a partition cannot hold an API worker for minutes.
                .setConfig(BoltConnector.connection_keep_alive, Duration.ofSeconds(10))
                .setConfig(BoltConnector.connection_keep_alive_streaming_scheduling_interval, Duration.ofSeconds(5))
                // A transaction waits at most this long for the bookmark it starts after, so no request holds
                // a worker for the default 30 s (the API refuses bookmarks it did not seal before this).
                .setConfig(GraphDatabaseSettings.bookmark_ready_timeout, Duration.ofSeconds(5))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache);
        if (plugins != null) {
            builder.setConfig(GraphDatabaseSettings.plugin_dir, plugins)
                    .setConfig(GraphDatabaseSettings.procedure_unrestricted, unrestricted);
        }
        DatabaseManagementService dbms = builder.build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-local-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        int boltPort = ((GraphDatabaseAPI) db).getDependencyResolver()
                .resolveDependency(ConnectorPortRegister.class)
                .getLocalAddress(ConnectorType.BOLT)
                .getPort();
        writeAtomically(data.resolve("bolt.port"), Integer.toString(boltPort));
        writeAtomically(data.resolve("neo4j.pid"), Long.toString(ProcessHandle.current().pid()));
        System.out.println("bolt://127.0.0.1:" + boltPort);
        System.out.flush();
        stopped.await();
    }

    private static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, content + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static void usage(String problem) {
        System.err.println("neo4j-local: " + problem);
        System.err.println("usage: Main --data DIR [--port P] [--pagecache BYTES] [--plugins DIR --unrestricted LIST]");
        System.exit(2);
    }
}
