#!/usr/bin/env python3
"""Writes src/NvmePS/NvmePS.Format.ps1xml from the compact view table below (kept in the repo so views are
reviewed as data). Column: (header, property-or-{script}, width or 0, alignment or '')."""
import os
from xml.sax.saxutils import escape

TABLES = {
 'NvmeControllerIdentity': [('CntlId','ControllerId',6,'Right'),('Model','ModelNumber',24,''),('Serial','SerialNumber',20,''),('Firmware','FirmwareRevision',8,''),('Version','Version',7,''),('Namespaces','NamespaceCount',10,'Right'),('SubsystemNqn','SubsystemNqn',0,'')],
 'NvmeNamespaceIdentity': [('NSID','NamespaceId',5,'Right'),('Size','Size',12,'Right'),('SizeBytes','SizeBytes',16,'Right'),('BlockSize','BlockSize',9,'Right'),('Blocks','SizeBlocks',14,'Right'),('InUse','UtilizationBlocks',14,'Right'),('NGUID','Nguid',0,'')],
 'NvmeNamespaceId': [('Controller','ControllerName',0,''),('NSID','NamespaceId',10,'Right'),('Source','Source',18,'')],
 'NvmeSmartHealth': [('CriticalWarning','CriticalWarning',16,''),('Temp(°C)','TemperatureCelsius',8,'Right'),('Spare%','AvailableSparePercent',6,'Right'),('Used%','PercentageUsed',5,'Right'),('DataRead','DataRead',11,'Right'),('DataWritten','DataWritten',11,'Right'),('PowerOnHours','PowerOnHours',12,'Right'),('UnsafeShutdowns','UnsafeShutdowns',15,'Right'),('MediaErrors','MediaErrors',11,'Right')],
 'NvmeErrorInfo': [('ErrorCount','ErrorCount',10,'Right'),('SQID','SubmissionQueueId',5,'Right'),('CID','CommandId',6,'Right'),('Status','StatusName',0,''),('DNR','DoNotRetry',5,''),('LBA','Lba',12,'Right'),('NSID','NamespaceId',10,'Right')],
 'NvmeFirmwareSlots': [('Controller','ControllerName',0,''),('ActiveSlot','ActiveSlot',10,'Right'),('ActiveRevision','ActiveRevision',14,''),('NextResetSlot','NextResetSlot',13,'Right'),('Revisions','{($_.Revisions | Where-Object { $_ }) -join \', \'}',0,'')],
 'NvmeLogPage': [('LogId','{\'0x{0:X2}\' -f $_.LogId}',6,''),('Offset','Offset',10,'Right'),('Length','Length',8,'Right'),('Data','{[System.Convert]::ToHexString($_.Data, 0, [Math]::Min(16, $_.Data.Length)) + $(if ($_.Data.Length -gt 16) { \'…\' })}',0,'')],
 'NvmeFeature': [('Name','Name',30,''),('FID','{\'0x{0:X2}\' -f $_.FeatureId}',5,''),('Select','Select',21,''),('Value','{\'0x{0:X8}\' -f $_.Value}',10,''),('Decoded','Decoded',0,'')],
 'NvmfController': [('CntlId','ControllerId',6,'Right'),('SubsystemNqn','SubsystemNqn',0,''),('Address','{"$($_.TransportAddress):$($_.ServiceId)"}',21,''),('Model','ModelNumber',22,''),('IoQueues','IoQueueCount',8,'Right'),('Connected','IsConnected',9,'')],
 'NvmfQueuePair': [('QID','QueueId',5,'Right'),('Kind','Kind',5,''),('Size','QueueSize',5,'Right'),('InFlight','InFlight',8,'Right'),('SqFlowControl','SqFlowControl',13,''),('InCapsule','MaxInCapsuleData',9,'Right'),('Failure','Failure',0,'')],
 'NvmfTarget': [('SubsystemNqn','SubsystemNqn',0,''),('Listen','Listen',21,''),('Namespaces','{$_.Namespaces.Count}',10,'Right'),('Size','{($_.Namespaces | ForEach-Object Size) -join \', \'}',20,''),('Hosts','{if ($_.AllowAnyHost) { \'any\' } else { $_.AllowedHostNqns.Count }}',5,'Right'),('Connections','ActiveConnections',11,'Right'),('Running','IsRunning',7,'')],
 'NvmfTargetNamespace': [('NSID','NamespaceId',5,'Right'),('Size','Size',12,'Right'),('BlockSize','BlockSize',9,'Right'),('Blocks','BlockCount',12,'Right'),('Backing','Backing',0,'')],
 'NvmeCompletion': [('QID','QueueId',4,'Right'),('Opc','{\'0x{0:X2}\' -f $_.Opcode}',5,''),('CID','CommandId',5,'Right'),('SQHD','SqHead',5,'Right'),('SCT','StatusCodeType',3,'Right'),('SC','{\'0x{0:X2}\' -f $_.StatusCode}',4,''),('Status','StatusName',0,''),('DNR','DoNotRetry',5,''),('DW0','{\'0x{0:X8}\' -f $_.Dw0}',10,''),('Bytes','BytesTransferred',8,'Right')],
 'NvmfProperty': [('Name','Name',5,''),('Offset','{\'0x{0:X2}\' -f $_.Offset}',6,''),('Value','{if ($_.Size -eq 8) { \'0x{0:X16}\' -f $_.Value } else { \'0x{0:X8}\' -f $_.Value }}',18,''),('Fields','Decoded',0,'')],
 'NvmeBlockTransfer': [('Operation','Operation',9,''),('NSID','NamespaceId',5,'Right'),('StartingLba','StartingLba',12,'Right'),('Blocks','BlockCount',10,'Right'),('BlockSize','BlockSize',9,'Right'),('Size','Size',12,'Right'),('Path','Path',0,'')],
 'NvmfDiscoveryLogEntry': [('Trtype','Trtype',6,''),('Adrfam','Adrfam',6,''),('Subtype','Subtype',27,''),('PortId','PortId',6,'Right'),('Trsvcid','Trsvcid',7,''),('Traddr','Traddr',15,''),('SubNqn','SubNqn',0,'')],
}
LISTS = {
 'NvmfController': ['SubsystemNqn','ControllerId','TransportAddress','ServiceId','HostNqn','HostId','ModelNumber','SerialNumber','FirmwareRevision','Version','IsDiscovery','HeaderDigest','DataDigest','SqFlowControl','KeepAliveTimeoutSec','MaxDataTransferBytes','InCapsuleDataBytes','IoQueueCount','ConnectedAt','IsConnected','Failure'],
 'NvmeControllerIdentity': ['ControllerName','ControllerId','ModelNumber','SerialNumber','FirmwareRevision','Version','SubsystemNqn','ControllerType',('VendorId','{\'0x{0:X4}\' -f $_.VendorId}'),('SubsystemVendorId','{\'0x{0:X4}\' -f $_.SubsystemVendorId}'),'Ieee','MaxDataTransferBytes','NamespaceCount','TotalCapacityBytes','UnallocatedCapacityBytes','KeepAliveGranularityMs','IoCommandCapsuleBytes','IoResponseCapsuleBytes',('WarningTemperature','{if ($null -ne $_.WarningTemperatureCelsius) { "$($_.WarningTemperatureCelsius) °C" } else { \'not reported\' }}'),('CriticalTemperature','{if ($null -ne $_.CriticalTemperatureCelsius) { "$($_.CriticalTemperatureCelsius) °C" } else { \'not reported\' }}'),('OptionalAdminCommands','{\'0x{0:X4}\' -f $_.OptionalAdminCommands}'),('OptionalNvmCommands','{\'0x{0:X4}\' -f $_.OptionalNvmCommands}'),'AsyncEventRequestLimit','ErrorLogPageEntries',('Sgls','{\'0x{0:X8}\' -f $_.Sgls}'),'VolatileWriteCache','PowerStates'],
 'NvmeNamespaceIdentity': ['ControllerName','NamespaceId','Size','SizeBytes','SizeBlocks','CapacityBlocks','UtilizationBlocks','BlockSize','FormattedLbaIndex',('LbaFormats','{$_.LbaFormats -join [Environment]::NewLine}'),'Nguid','Eui64','Shared'],
 'NvmeSmartHealth': ['ControllerName','CriticalWarning',('Temperature','{if ($null -ne $_.TemperatureCelsius) { "$($_.TemperatureCelsius) °C ($($_.TemperatureKelvin) K)" } else { \'not reported\' }}'),('AvailableSpare','{"$($_.AvailableSparePercent)% (threshold $($_.AvailableSpareThresholdPercent)%)"}'),('PercentageUsed','{"$($_.PercentageUsed)%"}'),('DataRead','{"$($_.DataRead) ($($_.DataUnitsRead) data units)"}'),('DataWritten','{"$($_.DataWritten) ($($_.DataUnitsWritten) data units)"}'),'HostReadCommands','HostWriteCommands','ControllerBusyTimeMinutes','PowerCycles','PowerOnHours','UnsafeShutdowns','MediaErrors','ErrorLogEntries','WarningTemperatureTimeMinutes','CriticalTemperatureTimeMinutes',('TemperatureSensors','{($_.TemperatureSensorsCelsius | ForEach-Object { "$_ °C" }) -join \', \'}')],
}

def item(prop):
    if prop.startswith('{'):
        return '<ScriptBlock>%s</ScriptBlock>' % escape(prop[1:-1])
    return '<PropertyName>%s</PropertyName>' % prop

out = ['<?xml version="1.0" encoding="utf-8"?>',
       '<!-- Generated by tools/formats/views.py: default table views for every NvmePS output type, list views for',
       '     Identify and SMART. Tests check every view names a module type and properties it has. -->',
       '<Configuration>', '  <ViewDefinitions>']
for t, cols in TABLES.items():
    out += ['    <View>', '      <Name>NvmePS.%s.Table</Name>' % t, '      <ViewSelectedBy><TypeName>NvmePS.%s</TypeName></ViewSelectedBy>' % t,
            '      <TableControl>', '        <TableHeaders>']
    for h, p, w, a in cols:
        inner = '<Label>%s</Label>' % escape(h) + ('<Width>%d</Width>' % w if w else '') + ('<Alignment>%s</Alignment>' % a if a else '')
        out.append('          <TableColumnHeader>%s</TableColumnHeader>' % inner)
    out += ['        </TableHeaders>', '        <TableRowEntries>', '          <TableRowEntry>', '            <TableColumnItems>']
    for h, p, w, a in cols:
        out.append('              <TableColumnItem>%s</TableColumnItem>' % item(p))
    out += ['            </TableColumnItems>', '          </TableRowEntry>', '        </TableRowEntries>', '      </TableControl>', '    </View>']
for t, items in LISTS.items():
    out += ['    <View>', '      <Name>NvmePS.%s.List</Name>' % t, '      <ViewSelectedBy><TypeName>NvmePS.%s</TypeName></ViewSelectedBy>' % t,
            '      <ListControl>', '        <ListEntries>', '          <ListEntry>', '            <ListItems>']
    for i in items:
        if isinstance(i, tuple):
            out.append('              <ListItem><Label>%s</Label>%s</ListItem>' % (escape(i[0]), item(i[1])))
        else:
            out.append('              <ListItem>%s</ListItem>' % item(i))
    out += ['            </ListItems>', '          </ListEntry>', '        </ListEntries>', '      </ListControl>', '    </View>']
out += ['  </ViewDefinitions>', '</Configuration>', '']
root = os.path.join(os.path.dirname(__file__), '..', '..')
open(os.path.join(root, 'src', 'NvmePS', 'NvmePS.Format.ps1xml'), 'w', encoding='utf-8').write('\n'.join(out))
