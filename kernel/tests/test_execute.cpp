#include "harness.hpp"

using namespace kite;
using namespace kite::test;

TEST(Execute, ExpressionResult) {
    json reply = run("x = 40\nx + 2");
    ASSERT_EQ(reply["status"], "ok") << reply.dump();
    EXPECT_EQ(reply["execution_count"], 1);
    EXPECT_EQ(reply["payload"], json::array());
    auto results = of_type("execute_result");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0]["data"]["text/plain"], "42");
    EXPECT_EQ(results[0]["execution_count"], 1);
}
