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
