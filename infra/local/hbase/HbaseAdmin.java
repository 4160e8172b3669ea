import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.RegionInfo;
import org.apache.hadoop.hbase.util.Bytes;

/**
 * Operations the Thrift2 gateway does not offer (region split, flush), run with Java's
 * single-file source launcher against the local HBase jars: used by tests and operators.
 * Usage: split TABLE [KEY] | regions TABLE | flush TABLE
 */
public class HbaseAdmin {
  public static void main(String[] args) throws Exception {
    Configuration conf = HBaseConfiguration.create();
    conf.setInt("hbase.client.retries.number", 5);
    String cmd = args[0];
    TableName table = TableName.valueOf(args[1]);
    try (Connection c = ConnectionFactory.createConnection(conf); Admin admin = c.getAdmin()) {
      switch (cmd) {
        case "split": {
          int before = admin.getRegions(table).size();
          if (args.length > 2) admin.split(table, Bytes.toBytes(args[2]));
          else admin.split(table);
          long end = System.currentTimeMillis() + 60_000;
          while (admin.getRegions(table).size() <= before && System.currentTimeMillis() < end) Thread.sleep(200);
          int after = admin.getRegions(table).size();
          System.out.println("regions " + before + " -> " + after);
          if (after <= before) System.exit(3);
          break;
        }
        case "flush":
          admin.flush(table);
          System.out.println("flushed " + table);
          break;
        case "regions": {
          List<RegionInfo> regions = admin.getRegions(table);
          for (RegionInfo r : regions)
            System.out.println(Bytes.toStringBinary(r.getStartKey()) + "\t" + Bytes.toStringBinary(r.getEndKey()));
          break;
        }
        default:
          System.err.println("unknown command " + cmd);
          System.exit(2);
      }
    }
  }
}
