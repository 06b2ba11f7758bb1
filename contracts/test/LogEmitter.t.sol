// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {LogEmitter} from "src/test/LogEmitter.sol";

contract LogEmitterTest is Test {
    function test_emitTransfers_emitsCountLogsWithConsecutiveFields() public {
        LogEmitter e = new LogEmitter();
        vm.recordLogs();
        e.emitTransfers(address(1), address(100), 7, 3);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 3);
        for (uint256 i; i < 3; ++i) {
            assertEq(logs[i].topics[0], LogEmitter.Transfer.selector);
            assertEq(logs[i].topics[1], bytes32(uint256(1)));
            assertEq(logs[i].topics[2], bytes32(uint256(100 + i)));
            assertEq(abi.decode(logs[i].data, (uint256)), 7 + i);
        }
    }
}
