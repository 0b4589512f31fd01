// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Test-only token: anyone may mint (the helper pays pools by minting to them).
contract AmmDiffToken {
    mapping(address => uint256) public balanceOf;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function decimals() external pure returns (uint8) {
        return 18;
    }
}

interface IAmmDiffV2Pair {
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function mint(address to) external returns (uint256);
    function sync() external;
    function getReserves() external view returns (uint112, uint112, uint32);
}

interface IAmmDiffV3Factory {
    function createPool(address a, address b, uint24 fee) external returns (address);
}

interface IAmmDiffV3Pool {
    function initialize(uint160 sqrtPriceX96) external;
    function mint(address recipient, int24 tickLower, int24 tickUpper, uint128 amount, bytes calldata data)
        external returns (uint256, uint256);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96,
        bytes calldata data) external returns (int256, int256);
    function slot0() external view returns (uint160, int24, uint16, uint16, uint16, uint8, bool);
    function liquidity() external view returns (uint128);
}

/// @title AmmDiffHelper
/// @notice Differential-test oracle for torq's AMM math. Every case runs inside an external
///         self-call that always reverts with its results, so each case starts from the same
///         clean state (a fresh, empty V2 pair; no V3 pool) and a whole batch is one eth_call.
///         V2: sets the reserves through the real pair (mint, or sync for tiny reserves), evaluates
///         the UniswapV2Library formula on chain and probes the real pair's swap (K check) at the
///         formula's answer and one wei beyond it. V3: creates a real pool through the factory,
///         initializes it, mints the given positions and performs the real swap.
contract AmmDiffHelper {
    uint256 private constant MAGIC = 0x746f72712d616d6d; // "torq-amm"
    error ProbeOk();

    address public immutable token0;
    address public immutable token1;
    address public immutable pair;
    address public immutable v3Factory;

    constructor(address t0, address t1, address pair_, address v3Factory_) {
        require(t0 < t1, "order");
        token0 = t0;
        token1 = t1;
        pair = pair_;
        v3Factory = v3Factory_;
    }

    function _revertWith(bytes memory data) private pure {
        assembly {
            revert(add(data, 32), mload(data))
        }
    }

    // ------------------------------------------------------------------ V2

    struct V2Case {
        uint256 r0;
        uint256 r1;
        bool zeroForOne;
        bool exactOut;
        uint256 amount;
    }

    function v2Batch(V2Case[] calldata cases) external returns (bytes[] memory out) {
        out = new bytes[](cases.length);
        for (uint256 i = 0; i < cases.length; i++) {
            try this.v2Case(cases[i]) {} catch (bytes memory r) {
                out[i] = r;
            }
        }
    }

    /// UniswapV2Library.getAmountOut (0.3 % fee), checked arithmetic.
    function libAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) external pure returns (uint256) {
        require(amountIn > 0 && reserveIn > 0 && reserveOut > 0, "lib");
        uint256 amountInWithFee = amountIn * 997;
        return (amountInWithFee * reserveOut) / (reserveIn * 1000 + amountInWithFee);
    }

    /// UniswapV2Library.getAmountIn (0.3 % fee), checked arithmetic.
    function libAmountIn(uint256 amountOut, uint256 reserveIn, uint256 reserveOut) external pure returns (uint256) {
        require(amountOut > 0 && reserveIn > 0 && reserveOut > 0, "lib");
        return (reserveIn * amountOut * 1000) / ((reserveOut - amountOut) * 997) + 1;
    }

    /// Sends amountIn of tokenIn to the pair and asks for the outputs; reverts with ProbeOk()
    /// when the pair accepted (so nothing persists either way).
    function v2Probe(address tokenIn, uint256 amountIn, uint256 out0, uint256 out1) external {
        require(msg.sender == address(this), "self");
        AmmDiffToken(tokenIn).mint(pair, amountIn);
        IAmmDiffV2Pair(pair).swap(out0, out1, address(this), new bytes(0));
        revert ProbeOk();
    }

    function _probe(bool zeroForOne, uint256 amountIn, uint256 amountOut) private returns (bool ok) {
        address tokenIn = zeroForOne ? token0 : token1;
        (uint256 o0, uint256 o1) = zeroForOne ? (uint256(0), amountOut) : (amountOut, uint256(0));
        try this.v2Probe(tokenIn, amountIn, o0, o1) {} catch (bytes memory r) {
            ok = r.length == 4 && bytes4(r) == ProbeOk.selector;
        }
    }

    function v2Case(V2Case calldata c) external {
        require(msg.sender == address(this), "self");
        AmmDiffToken(token0).mint(pair, c.r0);
        AmmDiffToken(token1).mint(pair, c.r1);
        try IAmmDiffV2Pair(pair).mint(address(this)) {} catch {
            IAmmDiffV2Pair(pair).sync();
        }
        (uint112 r0, uint112 r1,) = IAmmDiffV2Pair(pair).getReserves();
        (uint256 rIn, uint256 rOut) = c.zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        bool formulaOk;
        uint256 formula;
        bool probeA;
        bool probeB;
        if (!c.exactOut) {
            try this.libAmountOut(c.amount, rIn, rOut) returns (uint256 v) {
                formulaOk = true;
                formula = v;
            } catch {}
            if (formulaOk) {
                probeA = _probe(c.zeroForOne, c.amount, formula);
                probeB = _probe(c.zeroForOne, c.amount, formula + 1);
            }
        } else {
            try this.libAmountIn(c.amount, rIn, rOut) returns (uint256 v) {
                formulaOk = true;
                formula = v;
            } catch {}
            if (formulaOk) {
                probeA = _probe(c.zeroForOne, formula, c.amount);
                probeB = _probe(c.zeroForOne, formula - 1, c.amount);
            }
        }
        _revertWith(abi.encode(MAGIC, uint256(r0), uint256(r1), formulaOk, formula, probeA, probeB));
    }

    // ------------------------------------------------------------------ V3

    struct V3Case {
        uint24 fee;
        uint160 sqrtPriceInit;
        int24[] lowers;
        int24[] uppers;
        uint128[] liquidities;
        bool zeroForOne;
        int256 amountSpecified;
        uint160 sqrtPriceLimit;
    }

    function v3Batch(V3Case[] calldata cases) external returns (bytes[] memory out) {
        out = new bytes[](cases.length);
        for (uint256 i = 0; i < cases.length; i++) {
            try this.v3Case(cases[i]) {} catch (bytes memory r) {
                out[i] = r;
            }
        }
    }

    function v3Case(V3Case calldata c) external {
        require(msg.sender == address(this), "self");
        address pool = IAmmDiffV3Factory(v3Factory).createPool(token0, token1, c.fee);
        IAmmDiffV3Pool(pool).initialize(c.sqrtPriceInit);
        for (uint256 i = 0; i < c.lowers.length; i++) {
            IAmmDiffV3Pool(pool).mint(address(this), c.lowers[i], c.uppers[i], c.liquidities[i], new bytes(0));
        }
        (, int24 tickBefore,,,,,) = IAmmDiffV3Pool(pool).slot0();
        uint128 liquidityBefore = IAmmDiffV3Pool(pool).liquidity();
        // Pre-fund so that token transfers never limit the swap (only the math is under test).
        AmmDiffToken(token0).mint(pool, 2 ** 200);
        AmmDiffToken(token1).mint(pool, 2 ** 200);
        bool ok;
        int256 a0;
        int256 a1;
        try IAmmDiffV3Pool(pool).swap(address(this), c.zeroForOne, c.amountSpecified, c.sqrtPriceLimit, new bytes(0))
            returns (int256 x, int256 y) {
            ok = true;
            a0 = x;
            a1 = y;
        } catch {}
        (uint160 pAfter, int24 tAfter,,,,,) = IAmmDiffV3Pool(pool).slot0();
        uint128 lAfter = IAmmDiffV3Pool(pool).liquidity();
        _revertWith(abi.encode(MAGIC, int256(tickBefore), uint256(liquidityBefore), ok, a0, a1, uint256(pAfter),
            int256(tAfter), uint256(lAfter)));
    }

    function uniswapV3MintCallback(uint256 owed0, uint256 owed1, bytes calldata) external {
        if (owed0 > 0) AmmDiffToken(token0).mint(msg.sender, owed0);
        if (owed1 > 0) AmmDiffToken(token1).mint(msg.sender, owed1);
    }

    function uniswapV3SwapCallback(int256 delta0, int256 delta1, bytes calldata) external {
        if (delta0 > 0) AmmDiffToken(token0).mint(msg.sender, uint256(delta0));
        if (delta1 > 0) AmmDiffToken(token1).mint(msg.sender, uint256(delta1));
    }
}
