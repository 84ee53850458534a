// The forecast of proxlb capacity: ordinary least squares on
//   y(d) = level + slope*d + sum_h (a_h cos(2 pi h d) + b_h sin(2 pi h d)) + a_w cos(2 pi d/7) + b_w sin(2 pi d/7)
// with d in days relative to the last sample and y a fraction of capacity.
// Why this and not Holt-Winters: see docs/capacity.md.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "balance/capacity.h"

namespace pvekit::balance {
namespace {

constexpr double kDay = 86400.0;
constexpr double kMinSpanDays = 2.0;
constexpr size_t kMinSamples = 24;

// The regressors of the model at d days from now.
std::vector<double> basis(double d, int daily_harmonics, bool weekly) {
  std::vector<double> x{1.0, d};
  for (int h = 1; h <= daily_harmonics; ++h) {
    x.push_back(std::cos(2 * std::numbers::pi * h * d));
    x.push_back(std::sin(2 * std::numbers::pi * h * d));
  }
  if (weekly) {
    x.push_back(std::cos(2 * std::numbers::pi * d / 7));
    x.push_back(std::sin(2 * std::numbers::pi * d / 7));
  }
  return x;
}

// Inverse of a small symmetric positive definite matrix by Gauss-Jordan with
// partial pivoting; nullopt when singular.
std::optional<std::vector<double>> invert(std::vector<double> a, size_t n) {
  std::vector<double> inv(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) inv[i * n + i] = 1.0;
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r * n + col]) > std::abs(a[pivot * n + col])) pivot = r;
    if (std::abs(a[pivot * n + col]) < 1e-12) return std::nullopt;
    for (size_t c = 0; c < n; ++c) {
      std::swap(a[col * n + c], a[pivot * n + c]);
      std::swap(inv[col * n + c], inv[pivot * n + c]);
    }
    const double p = a[col * n + col];
    for (size_t c = 0; c < n; ++c) {
      a[col * n + c] /= p;
      inv[col * n + c] /= p;
    }
    for (size_t r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = a[r * n + col];
      if (f == 0.0) continue;
      for (size_t c = 0; c < n; ++c) {
        a[r * n + c] -= f * a[col * n + c];
        inv[r * n + c] -= f * inv[col * n + c];
      }
    }
  }
  return inv;
}

double median_step(const std::vector<Sample>& s) {
  std::vector<double> steps;
  for (size_t i = 1; i < s.size(); ++i) steps.push_back(s[i].time - s[i - 1].time);
  std::nth_element(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(steps.size() / 2), steps.end());
  return steps[steps.size() / 2];
}

// First d in [0, horizon] (hourly) where `reached(d)` holds.
template <typename F>
std::optional<double> first_day(double horizon_days, F&& reached) {
  constexpr double kStep = 1.0 / 24;
  for (double d = 0; d <= horizon_days; d += kStep)
    if (reached(d)) return d;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(TrendVerdict verdict) {
  switch (verdict) {
    case TrendVerdict::TooShort: return "too short";
    case TrendVerdict::NoTrend: return "no trend";
    case TrendVerdict::Falling: return "falling";
    case TrendVerdict::Rising: return "rising";
  }
  return "?";
}

double Forecast::fitted(double t) const {
  if (coefficients.empty()) return 0.0;
  auto x = basis((t - now) / kDay, daily_harmonics, weekly);
  double y = 0;
  for (size_t i = 0; i < x.size(); ++i) y += x[i] * coefficients[i];
  return y;
}

double Forecast::band(double t) const {
  if (covariance_trend.size() != 3) return 0.0;
  const double d = (t - now) / kDay;
  const double var = covariance_trend[0] + 2 * d * covariance_trend[1] + d * d * covariance_trend[2];
  return z * std::sqrt(std::max(0.0, var) + residual_sd * residual_sd);
}

Forecast forecast(const std::vector<Sample>& series, double capacity, const ForecastOptions& options) {
  Forecast f;
  f.z = options.z;
  std::vector<Sample> s;
  for (const auto& p : series)
    if (std::isfinite(p.time) && std::isfinite(p.value)) s.push_back(p);
  std::sort(s.begin(), s.end(), [](const Sample& a, const Sample& b) { return a.time < b.time; });
  if (capacity <= 0) {
    f.detail = "capacity unknown";
    return f;
  }
  const double span = s.size() < 2 ? 0.0 : (s.back().time - s.front().time) / kDay;
  if (s.size() < kMinSamples || span < kMinSpanDays) {
    f.detail = "needs " + std::to_string(static_cast<int>(kMinSpanDays)) + " days and " +
               std::to_string(kMinSamples) + " samples of history, has " + std::to_string(s.size()) +
               " samples over " + std::to_string(static_cast<int>(span * 24)) + " h";
    if (!s.empty()) f.now = s.back().time;
    return f;
  }
  f.now = s.back().time;
  // A cycle is only fitted when the rows resolve it (4 rows per period) and,
  // for the week, when two periods are seen (else it is confounded with the trend).
  const double step_days = median_step(s) / kDay;
  f.daily_harmonics = step_days <= 0.25 / 2 ? 2 : step_days <= 0.25 ? 1 : 0;
  f.weekly = span >= 14.0 && step_days <= 7.0 / 4;
  const size_t p = basis(0, f.daily_harmonics, f.weekly).size();

  std::vector<double> xtx(p * p, 0.0), xty(p, 0.0);
  for (const auto& q : s) {
    auto x = basis((q.time - f.now) / kDay, f.daily_harmonics, f.weekly);
    const double y = q.value / capacity;
    for (size_t i = 0; i < p; ++i) {
      xty[i] += x[i] * y;
      for (size_t j = 0; j < p; ++j) xtx[i * p + j] += x[i] * x[j];
    }
  }
  auto inv = invert(xtx, p);
  if (!inv) {
    f.detail = "history too regular to fit (singular model)";
    return f;
  }
  f.coefficients.assign(p, 0.0);
  for (size_t i = 0; i < p; ++i)
    for (size_t j = 0; j < p; ++j) f.coefficients[i] += (*inv)[i * p + j] * xty[j];

  // Residuals: spread and lag-1 autocorrelation. RRD rows are correlated in
  // time; treating them as independent would make every wobble "significant",
  // so the variances are inflated by (1 + r) / (1 - r) (effective sample size).
  double sse = 0, lag = 0, prev = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double e = s[i].value / capacity - f.fitted(s[i].time);
    sse += e * e;
    if (i > 0) lag += e * prev;
    prev = e;
  }
  const double dof = static_cast<double>(s.size() - p);
  const double sigma2 = dof > 0 ? sse / dof : 0.0;
  const double r1 = sse > 0 ? std::clamp(lag / sse, 0.0, 0.95) : 0.0;
  const double inflation = (1 + r1) / (1 - r1);
  f.residual_sd = std::sqrt(sigma2);
  f.covariance_trend = {sigma2 * inflation * (*inv)[0], sigma2 * inflation * (*inv)[1],
                        sigma2 * inflation * (*inv)[p + 1]};
  f.level = f.coefficients[0];
  f.slope_per_day = f.coefficients[1];
  f.slope_stderr = std::sqrt(f.covariance_trend[2]);

  // The cycle's peak over one week (15 min grid).
  double peak = 0;
  for (int i = 0; i < 7 * 96; ++i) {
    auto x = basis(i / 96.0, f.daily_harmonics, f.weekly);
    double v = 0;
    for (size_t k = 2; k < p; ++k) v += x[k] * f.coefficients[k];
    peak = i == 0 ? v : std::max(peak, v);
  }
  f.seasonal_peak = peak;

  const double thr = options.threshold;
  const bool significant = std::abs(f.slope_per_day) > options.z * f.slope_stderr && f.slope_stderr >= 0;
  f.verdict = !significant ? TrendVerdict::NoTrend
              : f.slope_per_day > 0 ? TrendVerdict::Rising
                                    : TrendVerdict::Falling;
  f.above_now = f.level + f.seasonal_peak >= thr;
  if (f.verdict != TrendVerdict::Rising) return f;

  auto center = [&](double d) { return f.level + f.slope_per_day * d + f.seasonal_peak; };
  auto half = [&](double d) { return f.band(f.now + d * kDay); };
  auto to_time = [&](std::optional<double> d) -> std::optional<double> {
    if (!d) return std::nullopt;
    return f.now + *d * kDay;
  };
  const double d_cross = f.above_now ? 0.0 : (thr - f.level - f.seasonal_peak) / f.slope_per_day;
  if (d_cross <= options.horizon_days) f.crosses = f.now + d_cross * kDay;
  f.earliest = to_time(first_day(options.horizon_days, [&](double d) { return center(d) + half(d) >= thr; }));
  f.latest = to_time(first_day(options.horizon_days, [&](double d) { return center(d) - half(d) >= thr; }));
  return f;
}

double percentile(std::vector<double> values, int pct) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  pct = std::clamp(pct, 1, 100);
  size_t rank = static_cast<size_t>(std::ceil(pct / 100.0 * static_cast<double>(values.size())));
  return values[std::max<size_t>(rank, 1) - 1];
}

}  // namespace pvekit::balance
