// A double-ended queue over one growable circular buffer. The broker's
// queues fill and empty all the time; std::deque frees and reallocates a
// block every few dozen elements as it does, this keeps its buffer (the
// queue's high-water mark) and so allocates nothing in steady state.
#ifndef COURIER_INPROC_DETAIL_RING_HPP
#define COURIER_INPROC_DETAIL_RING_HPP

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace courier::inproc::detail {

template <class T>
class ring {
public:
    ring() = default;
    ring(const ring&) = delete;
    ring& operator=(const ring&) = delete;
    ~ring() {
        clear();
        ::operator delete(data_);
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }

    T& front() noexcept { return data_[head_]; }
    T& back() noexcept { return data_[(head_ + size_ - 1) & (capacity_ - 1)]; }

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (size_ == capacity_) grow();
        T* p = ::new (static_cast<void*>(data_ + ((head_ + size_) & (capacity_ - 1)))) T(std::forward<Args>(args)...);
        ++size_;
        return *p;
    }
    void push_back(T&& v) { emplace_back(std::move(v)); }
    void push_front(T&& v) {
        if (size_ == capacity_) grow();
        const std::size_t at = (head_ + capacity_ - 1) & (capacity_ - 1);
        ::new (static_cast<void*>(data_ + at)) T(std::move(v));
        head_ = at;
        ++size_;
    }
    void pop_front() noexcept {
        data_[head_].~T();
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
    }
    void pop_back() noexcept {
        back().~T();
        --size_;
    }
    void clear() noexcept {
        while (!empty()) pop_front();
    }
    void swap(ring& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(capacity_, o.capacity_);
        std::swap(head_, o.head_);
        std::swap(size_, o.size_);
    }

    /// Makes room for `n` elements (rounded up to a power of two).
    void reserve(std::size_t n) {
        if (capacity_ >= n) return;
        std::size_t cap = 16;
        while (cap < n) cap *= 2;
        grow(cap);
    }

private:
    // Capacity stays a power of two so wrapping is a mask, not a division.
    void grow() { grow(capacity_ ? capacity_ * 2 : 16); }
    void grow(std::size_t cap) {
        T* fresh = static_cast<T*>(::operator new(cap * sizeof(T)));
        for (std::size_t i = 0; i < size_; ++i) {
            T& from = data_[(head_ + i) & (capacity_ - 1)];
            ::new (static_cast<void*>(fresh + i)) T(std::move(from));
            from.~T();
        }
        ::operator delete(data_);
        data_ = fresh;
        capacity_ = cap;
        head_ = 0;
    }

    static_assert(std::is_nothrow_move_constructible_v<T>, "grow() relocates elements and must not throw halfway");
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

    T* data_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace courier::inproc::detail

#endif
