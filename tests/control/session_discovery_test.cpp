// Integration (label `chain`): pool discovery against the anvil fixture. A V2 pair and a V3 pool
// created while the session runs (createPair + mint; createPool + initialize + mint, by
// tests/control/tools/new_pools.mjs) are found from PairCreated/PoolCreated, get token metadata,
// a snapshot, and their later events; the pool cache file written by one session lets the next
// one start without factory scans and with the same pools.
#include <fstream>
#include <iterator>

#include "session_harness.hpp"

using namespace torq;
using namespace torq::control;
using namespace torq::control::testing;

namespace {

std::string json_field(const std::string& json, const std::string& key) {
  const auto p = json.find("\"" + key + "\":\"");
  if (p == std::string::npos) return {};
  const auto s = p + key.size() + 4;
  return json.substr(s, json.find('"', s) - s);
}

class SessionDiscoveryTest : public ChainFixture {};

TEST_F(SessionDiscoveryTest, ShouldDiscoverSnapshotAndStreamPoolsCreatedWhileRunning) {
  auto cfg = config({direct()});
  cfg.factories = factories();
  ASSERT_EQ(cfg.factories.size(), 3u);
  cfg.pool_cache_path = (dir_ / "pools.json").string();
  RecordingSink sink;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({direct()});
  Consumer consumer;
  const auto& c = session.counters();

  session.start();
  ASSERT_TRUE(wait_caught_up(session, chain));
  EXPECT_TRUE(session.take_discovered().empty());  // the factories' pools were all known
  EXPECT_EQ(c.pools_discovered.load(), 0u);

  const std::string created = node(kSrc + "/tests/control/tools/new_pools.mjs --manifest " + manifest_ + " create");
  const auto v2 = protocol::parse_address(json_field(created, "v2"));
  const auto v3 = protocol::parse_address(json_field(created, "v3"));
  ASSERT_TRUE(v2 && v3) << created;
  for (int i = 0; i < 200 && c.pools_discovered.load() < 2; ++i) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(c.pools_discovered.load(), 2u);
  const auto found = session.take_discovered();
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(session.take_discovered().empty());

  // The same pools in the test's registry (same order → same ids) with their metadata checked.
  protocol::InstrumentRegistry reg = registry_;
  std::vector<PoolMeta> metas;
  for (const auto& [id, m] : found) metas.push_back(m);
  const auto new_ids = register_discovered(metas, reg, protocol::Chain::Polygon);
  std::vector<protocol::InstrumentId> all = ids_;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const auto& [id, m] = found[i];
    EXPECT_EQ(new_ids[i], id);
    all.push_back(id);
    const auto s0 = m.symbol0, s1 = m.symbol1;
    if (m.address == *v2) {
      EXPECT_EQ(m.venue, venue_from_config_name("quickswap"));
      EXPECT_TRUE((s0 == "WBTC" && s1 == "USDC") || (s0 == "USDC" && s1 == "WBTC")) << s0 << "/" << s1;
      EXPECT_EQ(m.decimals0 + m.decimals1, 8 + 6);
      EXPECT_EQ(s0 == "WBTC" ? m.decimals0 : m.decimals1, 8);
    } else {
      EXPECT_EQ(m.address, *v3);
      EXPECT_EQ(m.venue, venue_from_config_name("uniswap-v3"));
      EXPECT_TRUE((s0 == "WETH" && s1 == "USDC") || (s0 == "USDC" && s1 == "WETH")) << s0 << "/" << s1;
      EXPECT_EQ(s0 == "WETH" ? m.decimals0 : m.decimals1, 18);
      EXPECT_EQ(m.fee_ppm, 10000u);
      EXPECT_EQ(m.tick_spacing, 200);
    }
  }

  // Trade on the new pools: their events are decoded and published.
  node(kSrc + "/tests/control/tools/new_pools.mjs --manifest " + manifest_ + " trade --v2 " +
       json_field(created, "v2") + " --v3 " + json_field(created, "v3") + " --n 3");
  drive(1, 61);
  ASSERT_TRUE(wait_caught_up(session, chain));
  consumer.fold(sink);
  for (const auto& [id, m] : found) {
    EXPECT_GE(consumer.snapshots_of[id.raw()], 1u) << protocol::format_address(m.address);
    // 3 swaps each: V2 Sync + Swap per swap, V3 one Swap per swap.
    EXPECT_GE(consumer.events_of[id.raw()], m.address == *v2 ? 6u : 3u) << protocol::format_address(m.address);
  }
  expect_equals_chain(consumer, chain, reg, all);
  EXPECT_EQ(consumer.twice, 0u);

  // The cache file was rewritten with the new pools.
  const auto cache = load_pool_cache(cfg.pool_cache_path);
  ASSERT_TRUE(cache.has_value());
  std::set<protocol::Address> cached;
  for (const auto& m : cache->pools) cached.insert(m.address);
  EXPECT_TRUE(cached.contains(*v2));
  EXPECT_TRUE(cached.contains(*v3));
  session.stop();
  EXPECT_EQ(c.decode_errors.load(), 0u);
}

TEST_F(SessionDiscoveryTest, ShouldSkipDiscoveryAndRebuildSameRegistryWhenStartedWithPoolCache) {
  auto cfg = config({direct()});
  cfg.factories = factories();
  cfg.pool_cache_path = (dir_ / "pools.json").string();
  ChainClient chain({direct()});
  const protocol::InstrumentRegistry empty;

  // Run 1: no cache, empty registry → every pool comes from factory discovery.
  std::vector<std::pair<protocol::InstrumentId, PoolMeta>> first;
  std::uint64_t head1 = 0, scanned1 = 0;
  {
    RecordingSink sink;
    NodeSession<RecordingSink> session(cfg, empty, sink);
    session.start();
    ASSERT_TRUE(wait_caught_up(session, chain));
    session.stop();
    first = session.take_discovered();
    head1 = chain.block_number().value;
    scanned1 = session.counters().discovery_blocks_scanned.load();
    EXPECT_EQ(session.counters().pools_discovered.load(), list_.pools.size());
    EXPECT_EQ(session.counters().pools_from_cache.load(), 0u);
    EXPECT_GE(scanned1, head1 - list_.deploy_block);
  }
  ASSERT_EQ(first.size(), list_.pools.size());
  ASSERT_TRUE(fs::exists(cfg.pool_cache_path));

  // Run 2: same cache, empty registry → no factory scan, the same pools with the same ids and
  // metadata, and a stream whose state equals the chain.
  RecordingSink sink;
  NodeSession<RecordingSink> session(cfg, empty, sink);
  Consumer consumer;
  session.start();
  ASSERT_TRUE(wait_caught_up(session, chain));
  const auto& c = session.counters();
  const std::uint64_t head2 = chain.block_number().value;
  EXPECT_EQ(head2, head1);  // nothing mined in between
  EXPECT_EQ(c.pools_from_cache.load(), list_.pools.size());
  EXPECT_EQ(c.discovery_scans.load(), 0u);
  EXPECT_EQ(c.discovery_blocks_scanned.load(), 0u);
  EXPECT_EQ(c.pools_discovered.load(), 0u);
  const auto second = session.take_discovered();  // cache pools are new to the (empty) registry
  ASSERT_EQ(second.size(), first.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(second[i].first, first[i].first);
    EXPECT_EQ(second[i].second.address, first[i].second.address);
    EXPECT_EQ(second[i].second.token0, first[i].second.token0);
    EXPECT_EQ(second[i].second.symbol1, first[i].second.symbol1);
    EXPECT_EQ(second[i].second.decimals0, first[i].second.decimals0);
    EXPECT_EQ(second[i].second.fee_ppm, first[i].second.fee_ppm);
    EXPECT_EQ(second[i].second.tick_spacing, first[i].second.tick_spacing);
  }

  drive(1, 62);
  ASSERT_TRUE(wait_caught_up(session, chain));
  consumer.fold(sink);
  protocol::InstrumentRegistry reg;
  std::vector<PoolMeta> metas;
  std::vector<protocol::InstrumentId> ids;
  for (const auto& [id, m] : second) metas.push_back(m), ids.push_back(id);
  EXPECT_EQ(register_discovered(metas, reg, protocol::Chain::Polygon), ids);
  EXPECT_GE(consumer.snapshots, ids.size());
  expect_equals_chain(consumer, chain, reg, ids);
  EXPECT_EQ(consumer.twice, 0u);
  session.stop();
  EXPECT_EQ(c.discovery_scans.load(), 0u);  // while running, creations come from the live subscription
  EXPECT_EQ(c.pool_cache_refused.load(), 0u);
  EXPECT_EQ(c.snapshot_pool_failures.load(), 0u);
  std::printf("cache: pools=%zu run1_scanned_blocks=%lu run2_scans=%lu\n", second.size(), scanned1, c.discovery_scans.load());

  // Run 3: the cache damaged (a V3 pool's tick spacing 0: no pool has it; it was loaded as is
  // before) → refused and counted, every pool comes from factory discovery again, the stream
  // still equals the chain, and the rewritten cache loads.
  {
    std::ifstream in(cfg.pool_cache_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    const auto at = text.find("\"tickSpacing\":", text.find("uniswap_v3"));
    ASSERT_NE(at, std::string::npos) << text;
    const auto end = text.find(',', at);
    text.replace(at, end - at, "\"tickSpacing\":0");
    std::ofstream(cfg.pool_cache_path, std::ios::trunc) << text;
    ASSERT_FALSE(load_pool_cache(cfg.pool_cache_path));
  }
  RecordingSink sink3;
  NodeSession<RecordingSink> third(cfg, empty, sink3);
  Consumer consumer3;
  third.start();
  ASSERT_TRUE(wait_caught_up(third, chain));
  const auto& c3 = third.counters();
  EXPECT_EQ(c3.pool_cache_refused.load(), 1u);
  EXPECT_EQ(c3.pools_from_cache.load(), 0u);
  EXPECT_GE(c3.discovery_scans.load(), 1u);
  EXPECT_EQ(c3.pools_discovered.load(), list_.pools.size());
  consumer3.fold(sink3);
  expect_equals_chain(consumer3, chain, reg, ids);
  third.stop();
  EXPECT_TRUE(load_pool_cache(cfg.pool_cache_path).has_value());
}

}  // namespace
