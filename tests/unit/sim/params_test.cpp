#include "sim/params.h"

#include <gtest/gtest.h>

namespace pvekit::sim {
namespace {

const std::vector<ParamSpec> kSpecs = {p_node(), p_vmid(), p_str("target", true), p_bool("online"),
                                       p_enum("type", {"vm", "storage"}), p_int("limit", false, 0, 10),
                                       p_num("bwlimit"), p_indexed("net", 32)};

TEST(ParamsTest, ValidRequestHasNoErrors) {
  EXPECT_TRUE(validate_params(kSpecs, {{"node", "pve1"}, {"vmid", "100"}, {"target", "pve2"}, {"online", "1"},
                                       {"net0", "x"}, {"net31", "y"}, {"bwlimit", "1.5"}})
                  .empty());
}

TEST(ParamsTest, EachProblemNamesTheParameterWithPveMessage) {
  struct Case {
    Params params;
    std::string param;
    std::string message;
  } cases[] = {
      {{{"node", "a"}, {"vmid", "100"}}, "target", "property is missing and it is not optional"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"bogus", "1"}}, "bogus",
       "property is not defined in schema and the schema does not allow additional properties"},
      {{{"node", "a"}, {"vmid", "abc"}, {"target", "b"}}, "vmid", "type check ('integer') failed - got 'abc'"},
      {{{"node", "a"}, {"vmid", "99"}, {"target", "b"}}, "vmid", "value must have a minimum value of 100"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"limit", "11"}}, "limit",
       "value must have a maximum value of 10"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"online", "maybe"}}, "online",
       "type check ('boolean') failed - got 'maybe'"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"type", "x"}}, "type",
       "value 'x' does not have a value in the enumeration 'vm, storage'"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"bwlimit", "fast"}}, "bwlimit",
       "type check ('number') failed - got 'fast'"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"net32", "x"}}, "net32",
       "property is not defined in schema and the schema does not allow additional properties"},
      {{{"node", "a"}, {"vmid", "100"}, {"target", "b"}, {"net01", "x"}}, "net01",
       "property is not defined in schema and the schema does not allow additional properties"},
  };
  for (const auto& c : cases) {
    auto errors = validate_params(kSpecs, c.params);
    ASSERT_EQ(errors.count(c.param), 1u) << c.param;
    EXPECT_EQ(errors[c.param], c.message) << c.param;
    EXPECT_EQ(errors.size(), 1u) << c.param;
  }
}

// PVE::JSONSchema: is_integer m/^[+-]?\d+$/, is_number, then maximum, then minimum.
TEST(ParamsTest, IntegersAndNumbersAreCheckedAsPveDoes) {
  const ParamSpec limited = p_int("n", false, 0, 10);
  const ParamSpec unlimited = p_int("n");
  EXPECT_EQ(check_param(limited, "+5"), std::nullopt);
  EXPECT_EQ(check_param(limited, "007"), std::nullopt);
  EXPECT_EQ(check_param(limited, "5.0"), "type check ('integer') failed - got '5.0'");
  EXPECT_EQ(check_param(limited, " 5"), "type check ('integer') failed - got ' 5'");
  EXPECT_EQ(check_param(limited, "-"), "type check ('integer') failed - got '-'");
  // Beyond 64 bits: PVE compares as a float, so the limit's message.
  EXPECT_EQ(check_param(limited, "99999999999999999999"), "value must have a maximum value of 10");
  EXPECT_EQ(check_param(limited, "-99999999999999999999"), "value must have a minimum value of 0");
  // Where the schema sets none, pvesim's 64 bits are the limit: never a wrapped value.
  EXPECT_EQ(check_param(unlimited, "9223372036854775807"), std::nullopt);
  EXPECT_EQ(check_param(unlimited, "9223372036854775808"), "value must have a maximum value of 9223372036854775807");
  EXPECT_EQ(check_param(unlimited, "-9223372036854775809"), "value must have a minimum value of -9223372036854775808");
  const ParamSpec number = p_num("x", 0, 8192);
  EXPECT_EQ(check_param(number, "1.5e3"), std::nullopt);
  EXPECT_EQ(check_param(number, ".5"), std::nullopt);
  EXPECT_EQ(check_param(number, "5."), std::nullopt);
  EXPECT_EQ(check_param(number, "8192.5"), "value must have a maximum value of 8192");
  EXPECT_EQ(check_param(number, "-0.1"), "value must have a minimum value of 0");
  EXPECT_EQ(check_param(number, "1e999"), "value must have a maximum value of 8192");
  EXPECT_EQ(check_param(number, "inf"), "type check ('number') failed - got 'inf'");
  EXPECT_EQ(check_param(number, "0x10"), "type check ('number') failed - got '0x10'");
}

TEST(ParamsTest, TypedAccessorsReadWhatValidationAccepts) {
  EXPECT_EQ(param_int({{"a", "+5"}}, "a"), 5);
  EXPECT_EQ(param_int({{"a", "99999999999999999999"}}, "a", 7), 7);
  EXPECT_DOUBLE_EQ(param_num({{"a", "1.5e3"}}, "a"), 1500);
  EXPECT_DOUBLE_EQ(param_num({{"a", "1e999"}}, "a", 3), 3);
}

TEST(ParamsTest, TypedAccessorsUseFallbacks) {
  Params p = {{"a", "5"}, {"b", "yes"}, {"c", "2.5"}};
  EXPECT_EQ(param_int(p, "a"), 5);
  EXPECT_EQ(param_int(p, "zz", 7), 7);
  EXPECT_TRUE(param_bool(p, "b"));
  EXPECT_FALSE(param_bool(p, "zz"));
  EXPECT_DOUBLE_EQ(param_num(p, "c"), 2.5);
  EXPECT_EQ(param_str(p, "zz", "d"), "d");
}

}  // namespace
}  // namespace pvekit::sim
