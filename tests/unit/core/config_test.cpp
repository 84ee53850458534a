#include "core/config.h"

#include <gtest/gtest.h>

namespace pvekit::core {
namespace {

ConfigSchema sample_schema() {
  ConfigSchema s;
  s.add({.path = "proxmox_api.hosts", .type = ValueType::StringList, .default_value = Json::array({"127.0.0.1"})});
  s.add({.path = "proxmox_api.pass", .type = ValueType::Secret});
  s.add({.path = "proxmox_api.timeout", .type = ValueType::Integer, .default_value = 10, .min = 1, .max = 600});
  s.add({.path = "proxmox_api.ssl_verification", .type = ValueType::Boolean, .default_value = true});
  s.add({.path = "balancing.balanciness", .type = ValueType::Number, .default_value = 5.0, .min = 0});
  s.add({.path = "balancing.method", .type = ValueType::String, .default_value = "memory",
         .choices = {"memory", "cpu", "disk"}});
  return s;
}

TEST(LayeredConfig, DefaultsApplyWhenNoLayerSetsAKey) {
  auto schema = sample_schema();
  LayeredConfig c(schema);
  EXPECT_EQ(c.get_int("proxmox_api.timeout"), 10);
  EXPECT_EQ(c.source_of("proxmox_api.timeout"), "default");
  EXPECT_FALSE(c.has("proxmox_api.pass"));
}

TEST(LayeredConfig, LaterLayersOverrideEarlierOnes) {
  auto schema = sample_schema();
  LayeredConfig c(schema);
  auto doc = parse_yaml("proxmox_api:\n  timeout: 30\n  ssl_verification: False\nbalancing:\n  method: cpu\n", "f.yaml");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(c.merge_document(*doc, "f.yaml").ok());
  EXPECT_EQ(c.get_int("proxmox_api.timeout"), 30);
  EXPECT_FALSE(c.get_bool("proxmox_api.ssl_verification"));
  ASSERT_TRUE(c.merge_environment({{"PROXLB_PROXMOX_API_TIMEOUT", "45"}, {"HOME", "/root"}}, "PROXLB_").ok());
  EXPECT_EQ(c.get_int("proxmox_api.timeout"), 45);
  EXPECT_EQ(c.source_of("proxmox_api.timeout"), "env PROXLB_PROXMOX_API_TIMEOUT");
  ASSERT_TRUE(c.set("proxmox_api.timeout", "60", "--timeout").ok());
  EXPECT_EQ(c.get_int("proxmox_api.timeout"), 60);
  EXPECT_EQ(c.get_string("balancing.method"), "cpu");
  EXPECT_EQ(c.source_of("balancing.method"), "f.yaml");
}

TEST(LayeredConfig, RejectsBadInputByNameAndChangesNothing) {
  struct Case {
    const char* yaml;
    const char* expected;
  };
  const Case cases[] = {
      {"proxmox_api:\n  timeot: 3\n", "f.yaml: unknown key 'proxmox_api.timeot'"},
      {"proxmox_api:\n  timeout: soon\n", "f.yaml: key 'proxmox_api.timeout': expected an integer, got string 'soon'"},
      {"proxmox_api:\n  timeout: 0\n", "f.yaml: key 'proxmox_api.timeout': value 0 is below the minimum 1"},
      {"balancing:\n  method: ram\n", "f.yaml: key 'balancing.method': 'ram' is not one of: memory, cpu, disk"},
      {"balancing: 3\n", "f.yaml: key 'balancing' must be a mapping, got integer"},
      {"proxmox_api:\n  timeout: 20\n  ssl_verification: maybe\n",
       "f.yaml: key 'proxmox_api.ssl_verification': expected a boolean, got string 'maybe'"},
  };
  auto schema = sample_schema();
  for (const auto& tc : cases) {
    LayeredConfig c(schema);
    auto doc = parse_yaml(tc.yaml, "f.yaml");
    ASSERT_TRUE(doc.ok()) << tc.yaml;
    auto st = c.merge_document(*doc, "f.yaml");
    ASSERT_FALSE(st.ok()) << tc.yaml;
    EXPECT_EQ(st.error().to_string(), tc.expected) << tc.yaml;
    EXPECT_EQ(c.get_int("proxmox_api.timeout"), 10) << "partial merge for " << tc.yaml;
  }
}

TEST(LayeredConfig, UnknownEnvironmentVariableWithPrefixIsRejected) {
  auto schema = sample_schema();
  LayeredConfig c(schema);
  auto st = c.merge_environment({{"PROXLB_BALANCING_BALANCINES", "3"}}, "PROXLB_");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().to_string().find("PROXLB_BALANCING_BALANCINES"), std::string::npos);
  EXPECT_TRUE(c.merge_environment({{"PROXLB_CONFIG", "/x"}}, "PROXLB_", {"PROXLB_CONFIG"}).ok());
}

TEST(LayeredConfig, ListsFromEnvironmentAreCommaSeparated) {
  auto schema = sample_schema();
  LayeredConfig c(schema);
  ASSERT_TRUE(c.merge_environment({{"PROXLB_PROXMOX_API_HOSTS", "a:8006, b"}}, "PROXLB_").ok());
  EXPECT_EQ(c.get_list("proxmox_api.hosts"), (std::vector<std::string>{"a:8006", "b"}));
}

TEST(LayeredConfig, SecretsAreRedactedInDumpsAndErrors) {
  auto schema = sample_schema();
  LayeredConfig c(schema);
  ASSERT_TRUE(c.set("proxmox_api.pass", "hunter2", "--pass").ok());
  EXPECT_EQ(c.get_string("proxmox_api.pass"), "hunter2");
  EXPECT_EQ(c.dump()["proxmox_api"]["pass"], "<redacted>");
  auto doc = parse_yaml("proxmox_api:\n  pass: [hunter2]\n", "f.yaml");
  auto st = c.merge_document(*doc, "f.yaml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().to_string().find("hunter2"), std::string::npos);
}

TEST(Yaml, PlainScalarsAreTypedQuotedOnesStayStrings) {
  auto doc = parse_yaml("a: 1\nb: '1'\nc: 2.5\nd: true\ne: ~\nf: text\n", "t");
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE((*doc)["a"].is_number_integer());
  EXPECT_TRUE((*doc)["b"].is_string());
  EXPECT_TRUE((*doc)["c"].is_number_float());
  EXPECT_TRUE((*doc)["d"].is_boolean());
  EXPECT_TRUE((*doc)["e"].is_null());
  EXPECT_EQ((*doc)["f"], "text");
  auto back = parse_yaml(json_to_yaml(*doc), "t2");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *doc);
}

TEST(Yaml, ARepeatedKeyIsRefusedByName) {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& c : {Case{"a: 1\nb: 2\na: 3\n", "\"a\""},
                        Case{"balancing:\n  balanciness: 5\n  balanciness: 10\n", "\"balancing.balanciness\""},
                        Case{"{\"proxmox_api\": {\"user\": \"x\", \"user\": \"y\"}}", "\"proxmox_api.user\""},
                        Case{"list:\n  - {n: 1, n: 2}\n", "\"list[0].n\""},
                        Case{"balancing: {}\nbalancing: {}\n", "\"balancing\""}}) {
    auto doc = parse_yaml(c.text, "f.yaml");
    ASSERT_FALSE(doc.ok()) << c.text;
    std::string message = doc.error().to_string();
    EXPECT_NE(message.find(std::string("duplicate key ") + c.key), std::string::npos) << message;
    EXPECT_NE(message.find("f.yaml"), std::string::npos) << message;
  }
  // The same key in different mappings is fine.
  auto doc = parse_yaml("a: {x: 1}\nb: {x: 2}\nl: [{x: 1}, {x: 2}]\n", "f.yaml");
  ASSERT_TRUE(doc.ok()) << doc.error().to_string();
  EXPECT_EQ((*doc)["b"]["x"], 2);
}

}  // namespace
}  // namespace pvekit::core
